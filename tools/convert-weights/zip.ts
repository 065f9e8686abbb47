// Minimal ZIP reader for PyTorch checkpoints (torch.save writes an uncompressed zip via miniz).
// Reads the central directory (ZIP64 aware), supports stored and deflate entries, and checks CRCs so
// that a corrupted checkpoint fails here instead of producing garbage weights. Hostile archives are bounded:
// entry names must be unique, each local header must agree with its central-directory entry, entries may not
// overlap, and inflation stops at the declared size (which itself may not exceed deflate's maximum ratio of
// the compressed size, nor, summed over the entries read, a total cap).
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

// Deflate cannot expand data by more than 1032:1 (zlib's technical details: 258-byte matches coded in at
// least 2 bits); a declared size above that is a lie, whatever the entry then inflates to.
const MAX_DEFLATE_RATIO = 1032;
/** Default cap on the bytes all entries read from one archive may decompress to (the largest ADM is 2.2 GB). */
export const DEFAULT_MAX_TOTAL_BYTES = 8 * 2 ** 30;
const MAX_ENTRIES = 1_000_000;

export interface ZipOptions {
  /** total uncompressed bytes that read() may return over the archive's lifetime */
  maxTotalBytes?: number;
}

export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private readonly dv: DataView;
  private readonly maxTotalBytes: number;
  private totalRead = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly label = 'zip archive',
    opts: ZipOptions = {},
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.maxTotalBytes = opts.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES;
    this.readCentralDirectory();
    this.checkLocalHeaders();
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
    // Each central entry takes at least 46 bytes: a count above that is corrupt (and would loop for long).
    if (count > MAX_ENTRIES || count * 46 > cdSize)
      this.fail(`central directory claims ${count} entries in ${cdSize} bytes (corrupt archive)`);
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
      const flags = this.u16(o + 8);
      if (flags & 1) this.fail(`entry ${i} is encrypted, which a checkpoint never is`);
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
      if (this.entries.has(name))
        this.fail(
          `two entries are named "${name.slice(0, 200)}" (a zip must name each entry once; which one is meant?)`,
        );
      if (method === 0 && compressedSize !== uncompressedSize)
        this.fail(
          `stored entry "${name.slice(0, 200)}" declares ${compressedSize} bytes stored but ${uncompressedSize} uncompressed`,
        );
      if (method === 8 && uncompressedSize > MAX_DEFLATE_RATIO * compressedSize + 1024)
        this.fail(
          `entry "${name.slice(0, 200)}" declares ${uncompressedSize} bytes from ${compressedSize} compressed, beyond deflate's maximum ratio (corrupt or hostile archive)`,
        );
      this.entries.set(name, { name, method, crc32, compressedSize, uncompressedSize, localHeaderOffset });
      o = extraEnd + commentLen;
    }
  }

  /**
   * The local header before each entry's data repeats its name, method and (unless a data descriptor follows
   * the data, flag bit 3) CRC and sizes; a reader that trusts one copy and an extractor that trusts the other
   * would see different files, so they must agree. Entries' data may not overlap.
   */
  private checkLocalHeaders(): void {
    const spans: [number, number, string][] = [];
    for (const ent of this.entries.values()) {
      const lh = ent.localHeaderOffset;
      const n = ent.name.slice(0, 200);
      if (this.u32(lh) !== SIG_LOCAL) this.fail(`corrupt local header for "${n}" at byte ${lh}`);
      const flags = this.u16(lh + 6);
      const method = this.u16(lh + 8);
      const nameLen = this.u16(lh + 26);
      const extraLen = this.u16(lh + 28);
      if (lh + 30 + nameLen > this.bytes.length) this.fail(`local header of "${n}" runs past the end of the file`);
      const localName = new TextDecoder().decode(this.bytes.subarray(lh + 30, lh + 30 + nameLen));
      if (localName !== ent.name)
        this.fail(
          `local header at byte ${lh} names "${localName.slice(0, 200)}" but the central directory says "${n}"`,
        );
      if (method !== ent.method)
        this.fail(`local header of "${n}" says compression method ${method}, the central directory ${ent.method}`);
      if (!(flags & 8)) {
        const crc = this.u32(lh + 14);
        const csize = this.u32(lh + 18);
        const usize = this.u32(lh + 22);
        // ZIP64 local headers saturate the 32-bit sizes at 0xffffffff.
        const sizeOk = (local: number, central: number) => local === central || local === 0xffffffff;
        if (crc !== ent.crc32 || !sizeOk(csize, ent.compressedSize) || !sizeOk(usize, ent.uncompressedSize))
          this.fail(`local header of "${n}" disagrees with the central directory (CRC or sizes)`);
      }
      const start = lh + 30 + nameLen + extraLen;
      const end = start + ent.compressedSize;
      if (end > this.bytes.length) this.fail(`entry "${n}" runs past the end of the file (truncated?)`);
      spans.push([lh, end, n]);
    }
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++)
      if (spans[i][0] < spans[i - 1][1]) this.fail(`entries "${spans[i - 1][2]}" and "${spans[i][2]}" overlap`);
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
    if (this.totalRead + ent.uncompressedSize > this.maxTotalBytes)
      this.fail(
        `entry "${name}" would take the archive past ${this.maxTotalBytes} decompressed bytes (corrupt or hostile archive)`,
      );
    this.totalRead += ent.uncompressedSize;
    let data: Uint8Array;
    if (ent.method === 0) data = raw;
    else if (ent.method === 8) {
      try {
        // Stop at the declared size (+1 to notice more): a lying entry cannot inflate further than it declared.
        data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, ent.uncompressedSize + 1) });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ERR_BUFFER_TOO_LARGE')
          return this.fail(
            `entry "${name}" inflates to more than its declared ${ent.uncompressedSize} bytes (corrupt archive)`,
          );
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
