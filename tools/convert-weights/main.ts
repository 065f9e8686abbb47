// CLI entry: `tsx tools/convert-weights/main.ts --input model.pt --config model_config.yaml --output model.safetensors`
import { pathToFileURL } from 'node:url';
import { UsageError } from '../../src/cli/args.ts';
import { checkOutputPaths } from '../../src/cli/output-paths.ts';
import { convertWeights } from './convert.ts';

export const USAGE = `Usage: convert-weights --input <model.pt|.pth|.safetensors> --config <config.json|.yaml> --output <out.safetensors>

Converts a guided-diffusion (ADM) UNet checkpoint into the engine's float32 safetensors weight file.
The config is guided-diffusion create_model arguments as JSON, a {"model": {...}, "in_channels", "out_channels"}
wrapper, or the DPS repo's configs/model_config.yaml. Every tensor is checked against the architecture
the config describes; the pickle is read without executing anything (like torch.load(weights_only=True)).`;

export interface CliIO {
  log: (s: string) => void;
  error: (s: string) => void;
}

/** Run the converter CLI; returns the process exit code (0 ok, 1 conversion failed, 2 usage error). */
export function runConvert(argv: string[], io: CliIO = { log: console.log, error: console.error }): number {
  const opts: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      io.log(USAGE);
      return 0;
    }
    const m = /^--(input|config|output)(?:=(.*))?$/.exec(a);
    if (!m) {
      io.error(`convert-weights: unknown argument "${a}"\n\n${USAGE}`);
      return 2;
    }
    const v = m[2] ?? argv[++i];
    if (v === undefined || v === '') {
      io.error(`convert-weights: --${m[1]} needs a value`);
      return 2;
    }
    opts[m[1]] = v;
  }
  const absent = ['input', 'config', 'output'].filter((k) => !opts[k]);
  if (absent.length) {
    io.error(`convert-weights: missing ${absent.map((k) => `--${k}`).join(', ')}\n\n${USAGE}`);
    return 2;
  }
  try {
    // Before reading anything: the output must be a .safetensors file that is not one of the inputs.
    checkOutputPaths([{ path: opts.output, extensions: ['.safetensors'], createDirs: true }], {
      inputs: [opts.input, opts.config],
    });
  } catch (e) {
    io.error(`convert-weights: ${(e as Error).message}`);
    return e instanceof UsageError ? 2 : 1;
  }
  try {
    const r = convertWeights({ input: opts.input, config: opts.config, output: opts.output });
    for (const n of r.notes) io.log(`note: ${n}`);
    io.log(`wrote ${opts.output}: ${r.tensors.size} tensors, ${r.numParams} parameters (float32)`);
    return 0;
  } catch (e) {
    io.error(`convert-weights: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = runConvert(process.argv.slice(2));
}
