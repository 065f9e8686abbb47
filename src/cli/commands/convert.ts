// `posterior convert`: the converter of tools/convert-weights behind the common CLI (flags, help, errors).
import { runConvert, USAGE } from '../../../tools/convert-weights/main.ts';
import { defineCommand } from '../command.ts';

// The converter's own usage text minus its first ("Usage: ...") line: one description, two front ends.
const description = USAGE.split('\n\n').slice(1).join('\n\n');

export default defineCommand({
  name: 'convert',
  description,
  flags: {
    input: {
      type: 'string',
      required: true,
      short: 'i',
      placeholder: 'model.pt',
      help: 'checkpoint to convert (PyTorch zip or safetensors)',
    },
    config: {
      type: 'string',
      required: true,
      short: 'c',
      placeholder: 'config.json',
      help: 'model config: create_model arguments as JSON, or the DPS model_config.yaml',
    },
    output: {
      type: 'string',
      required: true,
      short: 'o',
      placeholder: 'out.safetensors',
      help: 'where to write the float32 safetensors weights (config in its metadata); missing directories are created, an input is never overwritten',
    },
  },
  examples: [
    'posterior convert --input test/fixtures/adm-tiny/model.pt --config test/fixtures/adm-tiny/config.json --output out/adm-tiny.safetensors',
  ],
  run(flags, ctx) {
    const argv = ['--input', flags.input, '--config', flags.config, '--output', flags.output];
    // runConvert prefixes its errors with "convert-weights: "; the CLI's convention is "error: ".
    return runConvert(argv, {
      log: ctx.io.log,
      error: (s) => ctx.io.error(s.replace(/^convert-weights: /, 'error: ')),
    });
  },
});
