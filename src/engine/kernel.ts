// Kernel descriptors: the one place where a WGSL family's interface is written down. Each family declares its
// uniform block (name → type) and, per entry point, its storage bindings (name → access, element type,
// optional). From that declaration
// - the WGSL `struct Params` and every `@group(0) @binding(n)` line are generated and spliced into the shader
//   where it says `//#interface` (src/engine/shaders.ts), so the shader cannot disagree with the TypeScript;
// - `Engine.run` takes parameters and buffers by name, packs each parameter by its declared type and refuses
//   a missing, extra or mistyped one with the kernel's name (a whole-number float is still packed as f32).
//
// Binding numbers follow declaration order within an entry (the uniform block is binding 0, storage buffers
// 1, 2, ...); a WGSL variable used by several entries of a family must have the same number, type and access
// in each (whether it is optional may differ).
// An optional binding names a WGSL `override` flag (declared by the generated header, default false): the
// engine sets it from whether a buffer was given and binds a small internal filler when none was, so the
// shader can branch on the flag and callers never invent filler buffers. A `view` binding is a second
// typed view (e.g. vec4f and f32) of another binding's buffer and is not passed by the caller.
import { registerInterface } from './shaders.js';

export type UniformType = 'u32' | 'i32' | 'f32' | 'vec2u' | 'vec2i' | 'vec2f' | 'vec4u' | 'vec4i' | 'vec4f';
export type ElementType = 'f32' | 'u32' | 'i32' | 'vec2f' | 'vec2u' | 'vec2i' | 'vec4f' | 'vec4u' | 'vec4i';
export type Access = 'read' | 'read_write';

export interface BindingSpec {
  access?: Access;
  /** array element type in WGSL (default f32) */
  type?: ElementType;
  /** another binding of the same entry whose buffer this one views with another element type */
  view?: string;
  /** optional binding: the WGSL bool override that tells the shader whether it was given */
  optional?: string;
  /** the WGSL variable's name when it differs from the binding's (e.g. `x4` for a vec4f view of `x`) */
  wgsl?: string;
}

export interface EntrySpec {
  /** the uniforms this entry reads (default: all of the family's) — only these are accepted and required */
  uniforms?: readonly string[];
  /** storage bindings in binding order (1, 2, ...) */
  bindings: Record<string, Access | BindingSpec>;
}

export interface FamilySpec {
  uniforms?: Record<string, UniformType>;
  entries: Record<string, EntrySpec>;
}

export interface UniformSlot {
  name: string;
  type: UniformType;
  /** byte offset in the block */
  offset: number;
  /** components (1, 2 or 4) */
  width: number;
  kind: 'u' | 'i' | 'f';
}

export interface BindingSlot {
  name: string;
  /** the variable in WGSL */
  wgsl: string;
  binding: number;
  access: Access;
  type: ElementType;
  view?: string;
  optional?: string;
}

/** One entry point of a family, ready for `Engine.run`. */
export interface Kernel {
  family: string;
  entry: string;
  /** `family:entry`, the name errors use */
  name: string;
  /** bytes of the uniform block (0: the family has none) */
  uniformBytes: number;
  /** all of the family's uniforms (unused ones of this entry are packed as zero) */
  slots: readonly UniformSlot[];
  /** the uniforms this entry takes */
  accepts: ReadonlySet<string>;
  bindings: readonly BindingSlot[];
  /** the bindings a caller passes (not views), by name */
  byName: ReadonlyMap<string, BindingSlot>;
}

export type ParamValue = number | readonly number[];

const SCALAR: Record<UniformType, [number, 'u' | 'i' | 'f']> = {
  u32: [1, 'u'],
  i32: [1, 'i'],
  f32: [1, 'f'],
  vec2u: [2, 'u'],
  vec2i: [2, 'i'],
  vec2f: [2, 'f'],
  vec4u: [4, 'u'],
  vec4i: [4, 'i'],
  vec4f: [4, 'f'],
};

/** Declares a WGSL family's interface; returns its kernels by entry name and registers the generated header. */
export function defineKernels<const E extends Record<string, EntrySpec>>(
  family: string,
  spec: { uniforms?: Record<string, UniformType>; entries: E },
): { readonly [K in keyof E]: Kernel } {
  const where = `kernel family '${family}'`;
  // uniform block, laid out by WGSL's rules for a uniform struct (scalars align 4, vec2 8, vec4 16)
  const slots: UniformSlot[] = [];
  let offset = 0;
  for (const [name, type] of Object.entries(spec.uniforms ?? {})) {
    const [width, kind] = SCALAR[type] ?? [];
    if (!width) throw new Error(`${where}: uniform '${name}' has unknown type '${type}'`);
    if (!/^[a-z_][a-z0-9_]*$/i.test(name)) throw new Error(`${where}: uniform name '${name}' is not a WGSL name`);
    const align = width === 1 ? 4 : width * 4;
    offset = Math.ceil(offset / align) * align;
    slots.push({ name, type, offset, width, kind: kind! });
    offset += width * 4;
  }
  const uniformBytes = slots.length ? Math.ceil(offset / 16) * 16 : 0;
  const all = new Set(slots.map((s) => s.name));

  const declared = new Map<string, BindingSlot>();
  const flags = new Set<string>();
  const kernels: Record<string, Kernel> = {};
  for (const [entry, es] of Object.entries(spec.entries)) {
    const kw = `kernel '${family}:${entry}'`;
    const accepts = new Set(es.uniforms ?? all);
    for (const u of accepts) if (!all.has(u)) throw new Error(`${kw}: uniform '${u}' is not in the family's block`);
    const bindings: BindingSlot[] = [];
    Object.entries(es.bindings).forEach(([name, b], i) => {
      const d: BindingSpec = typeof b === 'string' ? { access: b } : b;
      const slot: BindingSlot = {
        name,
        wgsl: d.wgsl ?? name,
        binding: i + 1,
        access: d.access ?? 'read',
        type: d.type ?? 'f32',
        ...(d.view ? { view: d.view } : {}),
        ...(d.optional ? { optional: d.optional } : {}),
      };
      if (d.view && !(d.view in es.bindings)) throw new Error(`${kw}: '${name}' views unknown binding '${d.view}'`);
      if (d.optional && slot.access !== 'read') throw new Error(`${kw}: optional binding '${name}' must be read-only`);
      if (d.optional) flags.add(d.optional);
      const prev = declared.get(slot.wgsl);
      if (prev && (prev.binding !== slot.binding || prev.access !== slot.access || prev.type !== slot.type)) {
        throw new Error(`${kw}: binding '${slot.wgsl}' is declared differently by another entry of the family`);
      }
      declared.set(slot.wgsl, slot);
      bindings.push(slot);
    });
    kernels[entry] = {
      family,
      entry,
      name: `${family}:${entry}`,
      uniformBytes,
      slots,
      accepts,
      bindings,
      byName: new Map(bindings.filter((b) => !b.view).map((b) => [b.name, b])),
    };
  }

  const lines: string[] = [];
  if (slots.length) {
    lines.push('struct Params {');
    for (const s of slots) lines.push(`  ${s.name}: ${s.type},`);
    lines.push('}', '@group(0) @binding(0) var<uniform> p: Params;');
  }
  for (const b of declared.values()) {
    lines.push(`@group(0) @binding(${b.binding}) var<storage, ${b.access}> ${b.wgsl}: array<${b.type}>;`);
  }
  for (const f of flags) lines.push(`override ${f}: bool = false;`);
  registerInterface(family, lines.join('\n'));
  return kernels as { readonly [K in keyof E]: Kernel };
}

/**
 * The uniform block of `k` from named values, packed by declared type. Throws, naming the kernel, on a
 * missing, unknown or mistyped value (a non-integer or out-of-range u32/i32, a non-number, NaN).
 */
export function packParams(k: Kernel, params: Record<string, ParamValue> = {}): ArrayBuffer | null {
  for (const name in params) {
    if (!k.accepts.has(name)) {
      const want = [...k.accepts].join(', ') || 'none';
      throw new Error(`kernel '${k.name}': unknown parameter '${name}' (it takes: ${want})`);
    }
  }
  if (!k.uniformBytes) return null;
  const buf = new ArrayBuffer(k.uniformBytes);
  const words = [new Uint32Array(buf), new Int32Array(buf), new Float32Array(buf)];
  for (const s of k.slots) {
    if (!k.accepts.has(s.name)) continue;
    const v = params[s.name];
    if (v === undefined) throw new Error(`kernel '${k.name}': missing parameter '${s.name}' (${s.type})`);
    const out = words[s.kind === 'u' ? 0 : s.kind === 'i' ? 1 : 2];
    const at = s.offset / 4;
    if (s.width === 1) {
      if (!fits(v, s.kind)) throw mistyped(k, s, v);
      out[at] = v as number;
      continue;
    }
    if (!Array.isArray(v) || v.length !== s.width) throw mistyped(k, s, v);
    for (let c = 0; c < s.width; c++) {
      if (!fits(v[c], s.kind)) throw mistyped(k, s, v);
      out[at + c] = v[c];
    }
  }
  return buf;
}

/** Whether x is a number of that kind: any non-NaN for f32, an integer in range for u32 / i32. */
function fits(x: unknown, kind: 'u' | 'i' | 'f'): boolean {
  if (typeof x !== 'number' || Number.isNaN(x)) return false;
  if (kind === 'f') return true;
  if (!Number.isInteger(x)) return false;
  return kind === 'u' ? x >= 0 && x <= 0xffffffff : x >= -0x80000000 && x <= 0x7fffffff;
}

function mistyped(k: Kernel, s: UniformSlot, v: unknown): Error {
  return new Error(`kernel '${k.name}': parameter '${s.name}' must be ${s.type}, got ${fmt(v)}`);
}

function fmt(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(fmt).join(', ')}]`;
  return typeof v === 'number' ? String(v) : `${typeof v} ${String(v)}`;
}
