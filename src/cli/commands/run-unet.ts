// `posterior run-unet`: the UNet (and optionally its derivatives) on tensors read from a safetensors file —
// what a user porting a model runs to cross-check against PyTorch.
import { Engine } from '../../engine/index.ts';
import {
  firstNonFinite,
  parseSafetensors,
  tensorToFloat32,
  type SerializableTensor,
} from '../../engine/safetensors.ts';
import { readFileBytes } from '../../engine/safetensors-node.ts';
import { writeSafetensorsFile } from '../../io/atomic.ts';
import { loadUNet } from '../../unet/index.ts';
import { basename } from 'node:path';
import { checkOutputPaths } from '../output-paths.ts';
import { defineCommand } from '../command.ts';
import { WEIGHTS_FLAG } from '../model-file.ts';
import { UsageError } from '../args.ts';

export default defineCommand({
  name: 'run-unet',
  description:
    'Reads `x` [N,C,H,W] and `t` [N] (integer timesteps, any numeric dtype) from the input file, runs the model and ' +
    'writes `out`. With --vjp U / --jvp V / --d2 W it also reads those tensors from the input and writes `vjp.x` ' +
    '(uᵀ∂out/∂x), `jvp.out` (∂out/∂x·v) and `d2.out` (D²out[w, v], which needs --jvp for v).',
  flags: {
    weights: { ...WEIGHTS_FLAG, required: true, help: 'converted weights (posterior convert)' },
    input: {
      type: 'string',
      required: true,
      short: 'i',
      placeholder: 'IN.safetensors',
      help: 'input tensors x [N,C,H,W] and t [N]',
    },
    output: {
      type: 'string',
      required: true,
      short: 'o',
      placeholder: 'OUT.safetensors',
      help: 'where to write out (and vjp.x, jvp.out, d2.out)',
    },
    vjp: { type: 'string', placeholder: 'U', help: 'name of the cotangent tensor in the input file (shape of out)' },
    jvp: { type: 'string', placeholder: 'V', help: 'name of the tangent tensor in the input file (shape of x)' },
    d2: { type: 'string', placeholder: 'W', help: 'name of the second direction for D²out[W, V] (needs --jvp)' },
  },
  examples: [
    'posterior run-unet --weights models/fmnist-unet.safetensors --input in.safetensors --output out.safetensors --jvp v',
  ],
  async run(flags, ctx) {
    if (flags.d2 && !flags.jvp) throw new UsageError('--d2 W needs --jvp V (D²out[W, V] takes two directions)');
    checkOutputPaths([{ path: flags.output, extensions: ['.safetensors'] }], { inputs: [flags.input, flags.weights] });
    const input = parseSafetensors(readFileBytes(flags.input), flags.input);
    const get = (name: string) => {
      const t = input.tensors.get(name);
      if (!t) throw new Error(`${flags.input}: no tensor '${name}' (has: ${[...input.tensors.keys()].join(', ')})`);
      return { data: tensorToFloat32(t), shape: t.shape };
    };
    const x = get('x');
    const bad = firstNonFinite(x.data);
    if (bad >= 0) throw new Error(`${flags.input}: tensor 'x' holds a non-finite value at index ${bad}`);
    const t = Array.from(get('t').data);
    if (t.some((v) => !Number.isInteger(v) || v < 0))
      throw new Error(`${flags.input}: t must hold non-negative integer timesteps`);
    const e = await Engine.create();
    try {
      const net = loadUNet(e, readFileBytes(flags.weights), flags.weights);
      const tx = e.upload(x.data, x.shape, 'x');
      const outs: Record<string, SerializableTensor> = {};
      const put = async (name: string, tensor: import('../../engine/index.ts').Tensor) => {
        outs[name] = { shape: [...tensor.shape], data: await e.read(tensor) };
      };
      await put('out', net.forward(tx, t));
      if (flags.vjp) {
        const u = get(flags.vjp);
        await put('vjp.x', net.vjp(tx, t, e.upload(u.data, u.shape, 'u')).grad);
      }
      if (flags.jvp) {
        const v = get(flags.jvp);
        const tv = e.upload(v.data, v.shape, 'v');
        await put('jvp.out', net.jvp(tx, t, tv).tangent);
        if (flags.d2) {
          const w = get(flags.d2);
          await put('d2.out', net.d2(tx, t, e.upload(w.data, w.shape, 'w'), tv).d2);
        }
      }
      writeSafetensorsFile(flags.output, outs, {
        about: 'posterior run-unet output',
        weights: basename(flags.weights),
      });
      ctx.io.log(
        `wrote ${flags.output}: ${Object.entries(outs)
          .map(([k, v]) => `${k} [${v.shape}]`)
          .join(', ')}`,
      );
    } finally {
      e.destroy();
    }
  },
});
