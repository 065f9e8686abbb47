// Fashion-MNIST in the demo prior's input convention: the 28×28 uint8 images scaled by u / 127.5 − 1 to
// [−1, 1] and padded by 2 px of −1 on every side to 32×32, exactly as the prior was trained.
// Source: the IDX files of the Debian package `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist),
// or, without it, the 16 test images committed in test/fixtures/fmnist/.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { tensorToFloat32 } from '../engine/safetensors.ts';
import { readSafetensorsFile } from '../engine/safetensors-node.ts';

export const FMNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FMNIST_FIXTURE = new URL('../../test/fixtures/fmnist/test10k-first16.safetensors', import.meta.url);
export const FMNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;
export const FMNIST_FILES = {
  test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz', count: 10_000 },
  train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz', count: 60_000 },
} as const;
export const PAD = 2;
export const SIZE = 32;

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * Parse an IDX file (optionally gzipped): magic [0, 0, type, ndim], ndim big-endian u32 sizes, then the
 * data. Only unsigned bytes (type 0x08) occur in (Fashion-)MNIST, so only those are accepted.
 */
export function parseIdx(bytes: Uint8Array, label = 'IDX data'): IdxArray {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = new Uint8Array(gunzipSync(bytes));
    } catch (e) {
      throw new Error(`${label}: corrupt gzip stream (${(e as Error).message})`);
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new Error(`${label}: not an IDX file (bad magic)`);
  if (bytes[2] !== 0x08)
    throw new Error(`${label}: IDX element type 0x${bytes[2].toString(16)} is not unsigned byte (0x08)`);
  const ndim = bytes[3];
  const headerLen = 4 + 4 * ndim;
  if (ndim === 0 || bytes.length < headerLen) throw new Error(`${label}: truncated IDX header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndim }, (_, i) => dv.getUint32(4 + 4 * i, false));
  const n = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - headerLen !== n) {
    throw new Error(
      `${label}: IDX header says ${dims.join('×')} = ${n} bytes of data, file has ${bytes.length - headerLen}`,
    );
  }
  return { dims, data: bytes.subarray(headerLen) };
}

/** uint8 28×28 images [n, 28, 28] -> float32 [n, 1, 32, 32] in [−1, 1], padded with −1. */
export function toModelInput(u8: Uint8Array, n: number, h = 28, w = 28): Float32Array {
  if (u8.length < n * h * w)
    throw new Error(`toModelInput: need ${n * h * w} bytes for ${n} images of ${h}×${w}, got ${u8.length}`);
  const H = h + 2 * PAD;
  const W = w + 2 * PAD;
  const out = new Float32Array(n * H * W).fill(-1);
  for (let k = 0; k < n; k++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) out[(k * H + y + PAD) * W + x + PAD] = u8[(k * h + y) * w + x] / 127.5 - 1;
  return out;
}

export interface FmnistBatch {
  /** [n, 1, 32, 32] in [−1, 1] */
  x: Float32Array;
  shape: [number, 1, number, number];
  labels: Int32Array;
  /** where the images came from, for reports */
  source: string;
}

export function fmnistInstalled(dir = FMNIST_DIR): boolean {
  return existsSync(join(dir, FMNIST_FILES.test.images)) && existsSync(join(dir, FMNIST_FILES.test.labels));
}

/** Images [start, start + count) of a split from the Debian package's IDX files. */
export function loadFashionMnist(
  opts: { split?: 'test' | 'train'; start?: number; count?: number; dir?: string } = {},
): FmnistBatch {
  const split = opts.split ?? 'test';
  const dir = opts.dir ?? FMNIST_DIR;
  const files = FMNIST_FILES[split];
  const imgPath = join(dir, files.images);
  const lblPath = join(dir, files.labels);
  if (!existsSync(imgPath) || !existsSync(lblPath)) {
    throw new Error(
      `Fashion-MNIST not found at ${dir} (install the Debian package: apt-get install dataset-fashion-mnist)`,
    );
  }
  const images = parseIdx(new Uint8Array(readFileSync(imgPath)), imgPath);
  const labels = parseIdx(new Uint8Array(readFileSync(lblPath)), lblPath);
  if (images.dims.length !== 3 || labels.dims.length !== 1 || images.dims[0] !== labels.dims[0]) {
    throw new Error(`${imgPath}: images ${images.dims.join('×')} and labels ${labels.dims.join('×')} do not pair up`);
  }
  const [N, h, w] = images.dims;
  const start = opts.start ?? 0;
  const count = opts.count ?? N - start;
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 1 || start + count > N) {
    throw new Error(
      `Fashion-MNIST ${split}: images ${start}..${start + count - 1} requested, the split has 0..${N - 1}`,
    );
  }
  const x = toModelInput(images.data.subarray(start * h * w, (start + count) * h * w), count, h, w);
  return {
    x,
    shape: [count, 1, h + 2 * PAD, w + 2 * PAD],
    labels: Int32Array.from(labels.data.subarray(start, start + count)),
    source: `${imgPath} [${start}, ${start + count})`,
  };
}

/** The committed fixture: the first 16 test images. */
export function loadFmnistFixture(path: string | URL = FMNIST_FIXTURE): FmnistBatch {
  const file = readSafetensorsFile(path instanceof URL ? fileURLToPath(path) : path);
  const x = file.tensors.get('x');
  const labels = file.tensors.get('labels');
  if (!x || !labels || x.shape.length !== 4) throw new Error(`${path}: expected tensors x [n,1,32,32] and labels [n]`);
  return {
    x: tensorToFloat32(x),
    shape: x.shape as [number, 1, number, number],
    labels: Int32Array.from(tensorToFloat32(labels)),
    source: `${path instanceof URL ? fileURLToPath(path) : path} (t10k images 0..${x.shape[0] - 1})`,
  };
}

/**
 * The first `count` Fashion-MNIST test images: from the Debian package when installed, else from the
 * committed fixture (at most 16 images, with a clear error asking for the package beyond that).
 */
export function loadTestImages(count: number, opts: { start?: number; dir?: string } = {}): FmnistBatch {
  const start = opts.start ?? 0;
  if (fmnistInstalled(opts.dir)) return loadFashionMnist({ split: 'test', start, count, dir: opts.dir });
  const fx = loadFmnistFixture();
  if (start + count > fx.shape[0]) {
    throw new Error(
      `only ${fx.shape[0]} Fashion-MNIST test images are bundled; for ${start + count} install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)`,
    );
  }
  const size = 32 * 32;
  return {
    x: fx.x.slice(start * size, (start + count) * size),
    shape: [count, 1, 32, 32],
    labels: fx.labels.slice(start, start + count),
    source: `${fx.source}, images ${start}..${start + count - 1}`,
  };
}
