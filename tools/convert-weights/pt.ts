// Reader for PyTorch checkpoints in the zip format torch.save has written since 1.6:
//   <archive>/data.pkl        pickled object; tensors reference storages by persistent id
//   <archive>/data/<key>      raw storage bytes (little-endian unless <archive>/byteorder says "big")
//   <archive>/version, and in 2.x also .format_version, .storage_alignment, byteorder
// The pickle runs in the restricted VM of pickle.ts, so nothing in the file is ever executed.
import { tensorToFloat32, type SafetensorsDtype } from '../../src/engine/safetensors.ts';
import {
  describe,
  TORCH_DTYPE_BYTES,
  torchPersistentLoad,
  unpickle,
  type TorchDtype,
  type TorchStorageRef,
  type TorchTensorRef,
} from './pickle.ts';
import { ZipArchive, type ZipOptions } from './zip.ts';

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

export function loadTorchCheckpoint(bytes: Uint8Array, label = 'checkpoint', opts: ZipOptions = {}): TorchCheckpoint {
  detectLegacy(bytes, label);
  const zip = new ZipArchive(bytes, label, opts);
  const pkls = zip.names().filter((n) => /^[^/]+\/data\.pkl$/.test(n) || n === 'data.pkl');
  if (pkls.length === 0)
    throw new TorchCheckpointError(
      `${label}: zip archive has no <archive>/data.pkl entry; it is not a torch.save checkpoint`,
    );
  if (pkls.length > 1)
    throw new TorchCheckpointError(
      `${label}: the archive holds ${pkls.length} pickles (${pkls.slice(0, 3).join(', ')}); which one is the checkpoint?`,
    );
  const pkl = pkls[0];
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const byteorder = zip.has(`${prefix}byteorder`)
    ? new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim()
    : 'little';
  if (byteorder !== 'little' && byteorder !== 'big')
    throw new TorchCheckpointError(`${label}: unknown byteorder ${describe(byteorder)}`);

  // Every storage the pickle refers to (whether or not it ends up in the chosen state dict).
  const referenced = new Set<string>();
  const root = unpickle(zip.read(pkl), {
    label: `${label}: ${pkl}`,
    persistentLoad: (pid) => {
      const ref = torchPersistentLoad(pid);
      referenced.add(ref.key);
      return ref;
    },
  });
  // torch.save writes exactly the storages its pickle refers to: an unreferenced one means a reference was
  // redirected (e.g. two tensors now reading one storage), which would silently load the wrong weights.
  const orphan = zip.names().find((n) => n.startsWith(`${prefix}data/`) && !referenced.has(n.slice(prefix.length + 5)));
  if (orphan)
    throw new TorchCheckpointError(
      `${label}: ${orphan} is in the archive but the pickle never refers to it (corrupt checkpoint)`,
    );
  const { dict, key, note } = findStateDict(root, label);

  // Validate every name, dtype and view against its storage before any storage is read or any tensor
  // materialised: a view cannot ask for more memory than its storage holds.
  const storageRefs = new Map<string, TorchStorageRef>();
  for (const [name, t] of dict) {
    if (typeof name !== 'string')
      throw new TorchCheckpointError(`${label}: state dict has a non-string key ${describe(name)}`);
    const what = `${label}: tensor ${describe(name)}`;
    const s = t.storage;
    const prev = storageRefs.get(s.key);
    if (prev && (prev.dtype !== s.dtype || prev.numel !== s.numel))
      throw new TorchCheckpointError(
        `${what}: storage "${s.key}" is declared as ${s.dtype}×${s.numel} here and ${prev.dtype}×${prev.numel} elsewhere`,
      );
    storageRefs.set(s.key, s);
    checkView(t, what);
  }

  // Storages may be shared by several tensors (views); decode each one once.
  const storages = new Map<string, Float32Array>();
  const storageF32 = (s: TorchStorageRef): Float32Array => {
    let f = storages.get(s.key);
    if (!f) {
      const entry = `${prefix}data/${s.key}`;
      if (!zip.has(entry))
        throw new TorchCheckpointError(`${label}: storage "${s.key}" is missing (no ${entry} in the archive)`);
      const need = s.numel * TORCH_DTYPE_BYTES[s.dtype];
      const size = zip.entries.get(entry)!.uncompressedSize;
      if (size !== need)
        throw new TorchCheckpointError(
          `${label}: storage ${entry} has ${size} bytes, but ${s.numel} ${s.dtype} elements take ${need}${size < need ? ' (truncated?)' : ''}`,
        );
      let raw = zip.read(entry);
      if (byteorder === 'big') raw = byteswap(raw, TORCH_DTYPE_BYTES[s.dtype]);
      f = tensorToFloat32({ dtype: TO_ST[s.dtype], data: raw });
      storages.set(s.key, f);
    }
    return f;
  };

  const tensors = new Map<string, TorchTensor>();
  for (const [name, t] of dict) {
    tensors.set(name as string, {
      dtype: t.storage.dtype,
      shape: t.shape,
      data: contiguous(t, storageF32(t.storage)),
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
      .map((k) => describe(k))
      .join(', ');
    const bad = [...root.entries()].find(([, v]) => !isTensor(v));
    throw new TorchCheckpointError(
      `${label}: could not find a state dict: the top-level dict is not all tensors (e.g. ${describe(bad?.[0])}) and ` +
        `has no ${NESTED_KEYS.map((k) => `"${k}"`).join('/')} entry holding one; top-level keys: ${keys}`,
    );
  }
  throw new TorchCheckpointError(
    `${label}: the checkpoint holds a ${Array.isArray(root) ? 'list' : typeof root}, not a state dict`,
  );
}

/**
 * A view must lie inside its storage, with shape and strides ≥ 0 (torch.save never writes negative strides;
 * a negative one here would silently reverse weights) and may not map two of its elements to one storage
 * position: a parameter never overlaps itself, while a zero or overlapping stride is exactly what one flipped
 * byte makes of a real checkpoint (stride [128, 1] → [0, 1] repeats one row 64 times, and a zero-stride view of
 * 128 elements could claim 65536² of them). Refused here, before any memory is allocated. Sufficient test for
 * no overlap: sorted by stride, each dimension's stride exceeds the span of all smaller ones.
 */
function checkView(t: TorchTensorRef, what: string): void {
  const { shape, stride, storageOffset } = t;
  const view = `view (offset ${storageOffset}, shape [${shape.join(', ')}], stride [${stride.join(', ')}])`;
  if (shape.some((d) => d < 0)) throw new TorchCheckpointError(`${what}: negative size in ${view}`);
  if (stride.some((d) => d < 0)) throw new TorchCheckpointError(`${what}: negative stride in ${view}`);
  if (storageOffset < 0) throw new TorchCheckpointError(`${what}: negative storage offset in ${view}`);
  if (shape.includes(0)) return;
  const storageNumel = t.storage.numel;
  let span = 0; // largest offset the view reaches
  const dims = shape.map((d, i) => ({ d, s: stride[i] })).filter((x) => x.d > 1);
  dims.sort((a, b) => a.s - b.s);
  for (const { d, s } of dims) {
    if (s <= span)
      throw new TorchCheckpointError(
        `${what}: ${view} maps several elements to one storage position (zero or overlapping strides), which a parameter never does`,
      );
    span += (d - 1) * s;
  }
  if (!(storageOffset + span < storageNumel))
    throw new TorchCheckpointError(`${what}: ${view} exceeds its storage of ${storageNumel} elements`);
}

/** Materialize a (checked) strided view (storage offset + strides, in elements) as a dense row-major array. */
function contiguous(t: TorchTensorRef, storage: Float32Array): Float32Array {
  const { shape, stride, storageOffset } = t;
  const n = shape.reduce((a, d) => a * d, 1);
  if (n === 0) return new Float32Array(0);
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
