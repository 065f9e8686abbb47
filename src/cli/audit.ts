// `posterior bench --audit MODEL`: every dispatch of a UNet's forward and VJP pass as an H100 would get it
// (the GPU kernel variants and limits), from shapes alone: src/engine/audit.ts records instead of running.
import { readFileSync } from 'node:fs';
import { AuditEngine, H100, formatAudit, summarizeAudit } from '../engine/audit.ts';
import { acquireGpu, fmtBytes, type Tensor } from '../engine/index.ts';
import { UNet, architectureTensors, loadUNetWeights, parseModelConfig, type UNetConfig } from '../unet/index.ts';
import { UsageError } from './args.ts';
import type { CliIO } from './command.ts';
import { DEFAULT_WEIGHTS } from './model-file.ts';

/**
 * The DPS FFHQ-256 UNet: configs/model_config.yaml of the official DPS code (Chung et al. 2023,
 * github.com/DPS2022/diffusion-posterior-sampling), guided-diffusion's defaults otherwise.
 */
const FFHQ_256 = {
  image_size: 256,
  num_channels: 128,
  num_res_blocks: 1,
  channel_mult: '',
  learn_sigma: true,
  class_cond: false,
  use_checkpoint: false,
  attention_resolutions: 16,
  num_heads: 4,
  num_head_channels: 64,
  num_heads_upsample: -1,
  use_scale_shift_norm: true,
  dropout: 0.0,
  resblock_updown: true,
  use_fp16: false,
  use_new_attention_order: false,
};

export const AUDIT_MODELS = ['ffhq-256', 'fmnist'];

function modelConfig(spec: string): { config: UNetConfig; weights?: Uint8Array } {
  if (spec === 'ffhq-256') return { config: parseModelConfig(FFHQ_256) };
  if (spec === 'fmnist') return { config: undefined as never, weights: new Uint8Array(readFileSync(DEFAULT_WEIGHTS)) };
  let text: string;
  try {
    text = readFileSync(spec, 'utf8');
  } catch {
    throw new UsageError(
      `--audit: '${spec}' is neither a known model (${AUDIT_MODELS.join(', ')}) nor a readable config file`,
      'bench',
    );
  }
  if (spec.endsWith('.safetensors')) return { config: undefined as never, weights: new Uint8Array(readFileSync(spec)) };
  try {
    return { config: parseModelConfig(spec.endsWith('.json') ? JSON.parse(text) : text) };
  } catch (err) {
    throw new Error(`${spec}: ${(err as Error).message}`);
  }
}

export async function runAudit(spec: string, batch: number, io: CliIO): Promise<void> {
  const gpu = await acquireGpu();
  const e = new AuditEngine(gpu, H100);
  try {
    const m = modelConfig(spec);
    const weights = m.weights
      ? loadUNetWeights(e, m.weights, spec === 'fmnist' ? 'models/fmnist-unet.safetensors' : spec)
      : {
          config: m.config,
          tensors: new Map(architectureTensors(m.config).map(([name, shape]) => [name, e.tensor(shape, name)])),
          numParams: 0,
        };
    const net = new UNet(e, weights);
    const [C, H, W] = net.imageShape;
    const x = e.tensor([batch, C, H, W], 'x');
    const u = e.tensor([batch, net.outChannels, H, W], 'u');
    const t = Array.from({ length: batch }, () => 500);
    io.log(
      `# dispatch audit: ${spec}, batch ${batch}, ${C}×${H}×${W}, for ${H100.name} (kernel variants: ${e.adapter.describe()}); nothing is executed`,
    );
    const rows: string[] = [];
    for (const [pass, fn] of [
      ['forward', () => e.release(net.forward(x, t))],
      ['forward + VJP', () => e.release(...(Object.values(net.vjp(x, t, u)) as Tensor[]))],
    ] as const) {
      e.reset();
      fn();
      const s = summarizeAudit(e.audit);
      io.log('\n' + formatAudit(e.audit, H100, `${spec} ${pass}`));
      io.log(
        `peak memory of the pass (activations and temporaries; weights and input excluded): ${fmtBytes(e.peakBytes)}`,
      );
      const conv = e.audit.filter((r) => r.kernel.startsWith('conv2d'));
      rows.push(
        `${pass.padEnd(14)} ${String(s.dispatches).padStart(10)} ${(s.flops / 1e9).toFixed(1).padStart(8)} ${s.floorMs.toFixed(3).padStart(10)} ` +
          `${((s.dispatches * H100.dispatchUs) / 1e3).toFixed(2).padStart(9)} ` +
          `${String(s.small).padStart(7)} ${String(conv.filter((r) => r.small).length).padStart(12)}   ${s.byKernel[0]?.kernel ?? '-'} (${(100 * (s.byKernel[0]?.share ?? 0)).toFixed(0)} %)`,
      );
    }
    io.log(`\n## summary (${H100.name}: ${H100.flops / 1e12} TFLOP/s, ${H100.bandwidth / 1e12} TB/s, ${H100.sms} SMs)`);
    io.log(
      `${'pass'.padEnd(14)} ${'dispatches'.padStart(10)} ${'GFLOP'.padStart(8)} ${'floor ms'.padStart(10)} ${'launch ms'.padStart(9)} ${'small'.padStart(7)} ${'small convs'.padStart(12)}   largest floor share`,
    );
    for (const r of rows) io.log(r);
  } finally {
    e.destroy();
  }
}
