// Reader for PyTorch checkpoints in the zip format torch.save has written since 1.6:
//   <archive>/data.pkl        pickled object; tensors reference storages by persistent id
//   <archive>/data/<key>      raw storage bytes (little-endian unless <archive>/byteorder says "big")
//   <archive>/version, and in 2.x also .format_version, .storage_alignment, byteorder
// The pickle runs in the restricted VM of pickle.ts, so nothing in the file is ever executed.
import { tensorToFloat32, type SafetensorsDtype } from '../../src/engine/safetensors.ts';
import { TORCH_DTYPE_BYTES, unpickle, type TorchDtype, type TorchStorageRef, type TorchTensorRef } from './pickle.ts';
import { ZipArchive } from './zip.ts';

export interface TorchTensor {
  /** dtype in the checkpoint (values are always converted to float32) */
  dtype: TorchDtype;
  shape: number[];
  data: Float32Array;
}

export interface TorchCheckpoint {
  tensors: Map<string, TorchTensor>;
  /** where the state dict was found: null = the top-level object, else the key (e.g. "ema") */
  stateDictKey: string | null;
  /** human-readable note on how the state dict was chosen (for CLI output) */
  note: string;
}

export class TorchCheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TorchCheckpointError';
  }
}

const TO_ST: Record<TorchDtype, SafetensorsDtype> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

// Preference order when a training checkpoint holds several weight sets: EMA weights are the ones
// diffusion models are sampled with.
const NESTED_KEYS = ['ema', 'state_dict', 'model'];

const isTensor = (v: unknown): v is TorchTensorRef => (v as TorchTensorRef | null)?.kind === 'tensor';
const isStateDict = (v: unknown): v is Map<unknown, unknown> =>
  v instanceof Map && v.size > 0 && [...v.values()].every(isTensor);

export function readTorchCheckpoint(bytes: Uint8Array, label = 'checkpoint'): Map<string, TorchTensor> {
  return loadTorchCheckpoint(bytes, label).tensors;
}

export function loadTorchCheckpoint(bytes: Uint8Array, label = 'checkpoint'): TorchCheckpoint {
  detectLegacy(bytes, label);
  const zip = new ZipArchive(bytes, label);
  const pkl = zip.names().find((n) => /^[^/]+\/data\.pkl$/.test(n)) ?? zip.names().find((n) => n === 'data.pkl');
  if (!pkl)
    throw new TorchCheckpointError(
      `${label}: zip archive has no <archive>/data.pkl entry; it is not a torch.save checkpoint`,
    );
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const byteorder = zip.has(`${prefix}byteorder`)
    ? new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim()
    : 'little';
  if (byteorder !== 'little' && byteorder !== 'big')
    throw new TorchCheckpointError(`${label}: unknown byteorder "${byteorder}"`);

  const root = unpickle(zip.read(pkl), { label: `${label}: ${pkl}` });
  const { dict, key, note } = findStateDict(root, label);

  // Storages may be shared by several tensors (views); decode each one once.
  const storages = new Map<string, Float32Array>();
  const storageF32 = (s: TorchStorageRef): Float32Array => {
    let f = storages.get(s.key);
    if (!f) {
      const entry = `${prefix}data/${s.key}`;
      if (!zip.has(entry))
        throw new TorchCheckpointError(`${label}: storage "${s.key}" is missing (no ${entry} in the archive)`);
      let raw = zip.read(entry);
      const need = s.numel * TORCH_DTYPE_BYTES[s.dtype];
      if (raw.length < need)
        throw new TorchCheckpointError(
          `${label}: storage ${entry} has ${raw.length} bytes, expected ${need} (truncated?)`,
        );
      raw = raw.subarray(0, need);
      if (byteorder === 'big') raw = byteswap(raw, TORCH_DTYPE_BYTES[s.dtype]);
      f = tensorToFloat32({ dtype: TO_ST[s.dtype], data: raw });
      storages.set(s.key, f);
    }
    return f;
  };

  const tensors = new Map<string, TorchTensor>();
  for (const [name, t] of dict) {
    if (typeof name !== 'string')
      throw new TorchCheckpointError(`${label}: state dict has a non-string key ${String(name)}`);
    tensors.set(name, {
      dtype: t.storage.dtype,
      shape: t.shape,
      data: contiguous(t, storageF32(t.storage), `${label}: tensor "${name}"`),
    });
  }
  return { tensors, stateDictKey: key, note };
}

function detectLegacy(bytes: Uint8Array, label: string): void {
  const isZip = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  if (isZip) return;
  const isTar = bytes.length > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar';
  const isPickle = bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] <= 5;
  if (isTar || isPickle) {
    throw new TorchCheckpointError(
      `${label}: this is the legacy (${isTar ? 'tar' : 'raw pickle'}) torch.save format from before PyTorch 1.6, which is not supported. ` +
        `Re-save it with a modern torch: torch.save(torch.load(path, map_location="cpu"), new_path)`,
    );
  }
  throw new TorchCheckpointError(
    `${label}: not a PyTorch zip checkpoint (no zip signature at the start of the file; wrong file or corrupted)`,
  );
}

function findStateDict(
  root: unknown,
  label: string,
): { dict: Map<unknown, TorchTensorRef>; key: string | null; note: string } {
  if (isStateDict(root)) return { dict: root as Map<unknown, TorchTensorRef>, key: null, note: 'top-level state dict' };
  if (root instanceof Map) {
    const found = NESTED_KEYS.filter((k) => isStateDict(root.get(k)));
    if (found.length > 0) {
      const others = found
        .slice(1)
        .map((k) => `"${k}"`)
        .join(', ');
      return {
        dict: root.get(found[0]) as Map<unknown, TorchTensorRef>,
        key: found[0],
        note: `using the state dict under "${found[0]}"${others ? ` (ignoring ${others})` : ''}`,
      };
    }
    const keys = [...root.keys()]
      .slice(0, 20)
      .map((k) => JSON.stringify(k))
      .join(', ');
    const bad = [...root.entries()].find(([, v]) => !isTensor(v));
    throw new TorchCheckpointError(
      `${label}: could not find a state dict: the top-level dict is not all tensors (e.g. ${JSON.stringify(bad?.[0])}) and ` +
        `has no ${NESTED_KEYS.map((k) => `"${k}"`).join('/')} entry holding one; top-level keys: ${keys}`,
    );
  }
  throw new TorchCheckpointError(
    `${label}: the checkpoint holds a ${Array.isArray(root) ? 'list' : typeof root}, not a state dict`,
  );
}

/** Materialize a strided view (storage offset + strides, in elements) as a dense row-major array. */
function contiguous(t: TorchTensorRef, storage: Float32Array, what: string): Float32Array {
  const { shape, stride, storageOffset } = t;
  const n = shape.reduce((a, d) => a * d, 1);
  if (n === 0) return new Float32Array(0);
  let maxIndex = storageOffset;
  let minIndex = storageOffset;
  shape.forEach((d, i) => (stride[i] >= 0 ? (maxIndex += (d - 1) * stride[i]) : (minIndex += (d - 1) * stride[i])));
  if (minIndex < 0 || maxIndex >= storage.length) {
    throw new TorchCheckpointError(
      `${what}: view (offset ${storageOffset}, shape ${JSON.stringify(shape)}, stride ${JSON.stringify(stride)}) exceeds its storage of ${storage.length} elements`,
    );
  }
  // Row-major strides => the view is one contiguous run.
  let expect = 1;
  let dense = true;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expect) dense = false;
    expect *= shape[i];
  }
  if (dense)
    return storageOffset === 0 && n === storage.length ? storage : storage.slice(storageOffset, storageOffset + n);
  const out = new Float32Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  let src = storageOffset;
  for (let o = 0; o < n; o++) {
    out[o] = storage[src];
    // odometer increment over the shape, keeping `src` in sync with the strides
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) {
        src += stride[d];
        break;
      }
      src -= (shape[d] - 1) * stride[d];
      idx[d] = 0;
    }
  }
  return out;
}

function byteswap(b: Uint8Array, size: number): Uint8Array {
  if (size === 1) return b;
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += size) for (let j = 0; j < size; j++) out[i + j] = b[i + size - 1 - j];
  return out;
}
