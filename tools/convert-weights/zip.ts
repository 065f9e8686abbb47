// Minimal ZIP reader for PyTorch checkpoints (torch.save writes an uncompressed zip via miniz).
// Reads the central directory (ZIP64 aware), supports stored and deflate entries, and checks CRCs so
// that a corrupted checkpoint fails here instead of producing garbage weights.
import * as zlib from 'node:zlib';

export class ZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipError';
  }
}

export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;

export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private readonly dv: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly label = 'zip archive',
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.readCentralDirectory();
  }

  private fail(why: string): never {
    throw new ZipError(`${this.label}: ${why}`);
  }

  private u16(o: number): number {
    if (o + 2 > this.bytes.length) this.fail(`unexpected end of data at byte ${o} (truncated?)`);
    return this.dv.getUint16(o, true);
  }
  private u32(o: number): number {
    if (o + 4 > this.bytes.length) this.fail(`unexpected end of data at byte ${o} (truncated?)`);
    return this.dv.getUint32(o, true);
  }
  private u64(o: number): number {
    if (o + 8 > this.bytes.length) this.fail(`unexpected end of data at byte ${o} (truncated?)`);
    const v = this.dv.getBigUint64(o, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`64-bit field at byte ${o} is too large`);
    return Number(v);
  }

  private findEocd(): number {
    // The EOCD record is 22 bytes plus a comment of up to 65535 bytes, at the very end.
    const min = Math.max(0, this.bytes.length - 22 - 0xffff);
    for (let o = this.bytes.length - 22; o >= min; o--) {
      if (this.dv.getUint32(o, true) === SIG_EOCD) return o;
    }
    return this.fail(
      this.bytes.length < 22
        ? `only ${this.bytes.length} bytes: not a zip archive (truncated?)`
        : 'no end-of-central-directory record: not a zip archive, or the file is truncated',
    );
  }

  private readCentralDirectory(): void {
    const eocd = this.findEocd();
    let count = this.u16(eocd + 10);
    let cdSize = this.u32(eocd + 12);
    let cdOffset = this.u32(eocd + 16);
    // ZIP64: a locator sits right before the EOCD and points at the 64-bit EOCD record.
    if (eocd >= 20 && this.u32(eocd - 20) === SIG_EOCD64_LOCATOR) {
      const z64 = this.u64(eocd - 20 + 8);
      if (this.u32(z64) !== SIG_EOCD64) this.fail('corrupt ZIP64 end-of-central-directory record');
      count = this.u64(z64 + 32);
      cdSize = this.u64(z64 + 40);
      cdOffset = this.u64(z64 + 48);
    }
    if (cdOffset + cdSize > this.bytes.length)
      this.fail('central directory lies beyond the end of the file (truncated?)');
    let o = cdOffset;
    for (let i = 0; i < count; i++) {
      if (this.u32(o) !== SIG_CENTRAL) this.fail(`corrupt central directory (entry ${i} at byte ${o})`);
      const method = this.u16(o + 10);
      const crc32 = this.u32(o + 16);
      let compressedSize = this.u32(o + 20);
      let uncompressedSize = this.u32(o + 24);
      const nameLen = this.u16(o + 28);
      const extraLen = this.u16(o + 30);
      const commentLen = this.u16(o + 32);
      let localHeaderOffset = this.u32(o + 42);
      if (o + 46 + nameLen > this.bytes.length) this.fail('central directory entry name runs past the end of the file');
      const name = new TextDecoder().decode(this.bytes.subarray(o + 46, o + 46 + nameLen));
      // ZIP64 extended info: the 64-bit values appear, in this order, only for fields saturated at 0xffffffff.
      let e = o + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = this.u16(e);
        const size = this.u16(e + 2);
        if (id === 0x0001) {
          let p = e + 4;
          if (uncompressedSize === 0xffffffff) {
            uncompressedSize = this.u64(p);
            p += 8;
          }
          if (compressedSize === 0xffffffff) {
            compressedSize = this.u64(p);
            p += 8;
          }
          if (localHeaderOffset === 0xffffffff) {
            localHeaderOffset = this.u64(p);
            p += 8;
          }
        }
        e += 4 + size;
      }
      this.entries.set(name, { name, method, crc32, compressedSize, uncompressedSize, localHeaderOffset });
      o = extraEnd + commentLen;
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Entry contents. Stored entries are returned as views into the archive bytes (no copy). */
  read(name: string): Uint8Array {
    const ent = this.entries.get(name);
    if (!ent) this.fail(`no entry named "${name}"`);
    const lh = ent.localHeaderOffset;
    if (this.u32(lh) !== SIG_LOCAL) this.fail(`corrupt local header for "${name}" at byte ${lh}`);
    // Local name/extra lengths may differ from the central copy (PyTorch pads the local extra
    // field so that tensor data is 64-byte aligned), so read them here.
    const start = lh + 30 + this.u16(lh + 26) + this.u16(lh + 28);
    const end = start + ent.compressedSize;
    if (end > this.bytes.length) this.fail(`entry "${name}" runs past the end of the file (truncated?)`);
    const raw = this.bytes.subarray(start, end);
    let data: Uint8Array;
    if (ent.method === 0) data = raw;
    else if (ent.method === 8) {
      try {
        data = zlib.inflateRawSync(raw);
      } catch (err) {
        return this.fail(`entry "${name}" has corrupt deflate data (${(err as Error).message})`);
      }
    } else return this.fail(`entry "${name}" uses unsupported compression method ${ent.method}`);
    if (data.length !== ent.uncompressedSize) {
      this.fail(`entry "${name}" has ${data.length} bytes, expected ${ent.uncompressedSize} (corrupt archive)`);
    }
    if (crc32(data) !== ent.crc32) this.fail(`entry "${name}" fails its CRC-32 check (corrupt archive)`);
    return data;
  }
}

let table: Uint32Array | undefined;
/** CRC-32 (zlib.crc32 where this Node has it; a table-driven fallback otherwise). */
export function crc32(data: Uint8Array): number {
  const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  if (native) return native(data) >>> 0;
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
