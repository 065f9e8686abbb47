// A restricted pickle virtual machine for PyTorch checkpoints.
//
// Pickle is a program: GLOBAL + REDUCE can call any Python function (e.g. os.system). This VM never
// runs anything. A global resolves only if it is on an explicit allow-list of pure data
// constructors (the idea of torch.load(weights_only=True)); every other global raises
// UnsafePickleError before anything else happens. Allowed globals are implemented here in
// TypeScript: OrderedDict -> Map, _rebuild_tensor_v2 -> a TorchTensorRef description, storage
// classes -> dtype markers. Persistent ids (BINPERSID) become TorchStorageRef descriptions that the
// caller (pt.ts) resolves against the zip's data/<key> entries.
//
// Python values map to: None -> null, bool, int -> number (bigint beyond 2^53), float -> number,
// str -> string, bytes -> Uint8Array, list/tuple -> array, dict -> Map, set -> Set.

export class PickleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleError';
  }
}

export class UnsafePickleError extends PickleError {
  constructor(
    readonly global: string,
    label?: string,
  ) {
    super(
      `${label ? `${label}: ` : ''}refused to load the pickled global "${global}": it is not on the allow-list of tensor/state-dict ` +
        `constructors (the same policy as torch.load(weights_only=True)). The file may contain code that ` +
        `would run when loaded in Python; only plain state_dict checkpoints are supported.`,
    );
    this.name = 'UnsafePickleError';
  }
}

export type TorchDtype =
  'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export const TORCH_DTYPE_BYTES: Record<TorchDtype, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** The value of e.g. `torch.FloatStorage` inside the pickle. */
export interface TorchStorageType {
  kind: 'storage-type';
  dtype: TorchDtype;
  name: string;
}
/** A persistent id ('storage', storage_type, key, location, numel): bytes live in <archive>/data/<key>. */
export interface TorchStorageRef {
  kind: 'storage';
  dtype: TorchDtype;
  key: string;
  location: string;
  numel: number;
}
/** torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, ...) — a strided view of a storage. */
export interface TorchTensorRef {
  kind: 'tensor';
  storage: TorchStorageRef;
  storageOffset: number;
  shape: number[];
  stride: number[];
}

/** An allow-listed global: `call` implements REDUCE / NEWOBJ on it; globals without `call` are plain values. */
export interface SafeGlobal {
  value?: unknown;
  call?: (args: unknown[]) => unknown;
}

class GlobalRef {
  constructor(
    readonly qualname: string,
    readonly impl: SafeGlobal,
  ) {}
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const MAX_RANK = 64;
const intList = (v: unknown): v is number[] => Array.isArray(v) && v.length <= MAX_RANK && v.every(isInt);

// Bounds on what a pickle may build. CPython refuses to parse integers of more than 4300 decimal digits
// (sys.int_info.default_max_str_digits, CVE-2020-10735: int(str) is quadratic); we apply the same limit to
// text integers and the equivalent 1786 bytes to binary LONG1/LONG4 — a state dict's integers are shapes,
// strides and offsets of at most 64 bits. MARK nesting and memo size are bounded too: a deep or huge structure
// is refused cleanly instead of exhausting the stack or memory.
export const MAX_INT_DIGITS = 4300;
const MAX_LONG_BYTES = Math.ceil((MAX_INT_DIGITS * Math.log2(10)) / 8);
export const MAX_MARK_DEPTH = 10_000;
const MAX_MEMO = 1_000_000;
// A state dict pickle pushes ~20 values per tensor (the ImageNet ADM: ~600 tensors, ~12k pushes); 1M also
// admits 500k APPENDS while keeping the worst case (1M empty lists) under a second.
const MAX_PUSHES = 1_000_000;

function rebuildTensor(args: unknown[], fn: string): TorchTensorRef {
  const [storage, storageOffset, shape, stride] = args;
  const s = storage as TorchStorageRef | undefined;
  if (
    s?.kind !== 'storage' ||
    !isInt(storageOffset) ||
    !intList(shape) ||
    !intList(stride) ||
    shape.length !== stride.length
  ) {
    throw new PickleError(`${fn}: unexpected arguments (expected storage, offset, size, stride)`);
  }
  return { kind: 'tensor', storage: s, storageOffset, shape: [...shape], stride: [...stride] };
}

/** OrderedDict() or OrderedDict([(k, v), ...]) — anything else is not what torch.save writes. */
function orderedDict(args: unknown[]): Map<unknown, unknown> {
  const items = args[0];
  if (args.length === 0 || items === undefined) return new Map();
  if (items instanceof Map) return new Map(items);
  if (!Array.isArray(items) || !items.every((p) => Array.isArray(p) && p.length === 2))
    throw new PickleError('collections.OrderedDict: argument is not a list of (key, value) pairs');
  return new Map(items as [unknown, unknown][]);
}

function parameter(args: unknown[]): unknown {
  const t = args[0] as TorchTensorRef | undefined;
  if (t?.kind !== 'tensor') throw new PickleError('torch._utils._rebuild_parameter: first argument is not a tensor');
  return t; // requires_grad / hooks are irrelevant for inference weights
}

const STORAGE_TYPES: Record<string, TorchDtype> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/**
 * What a state_dict checkpoint needs, and nothing that can run code. Deliberately absent:
 * torch.storage._load_from_bytes (nested torch.load of arbitrary bytes), builtins like eval/getattr,
 * numpy reconstructors and any user class.
 */
export const TORCH_SAFE_GLOBALS: ReadonlyMap<string, SafeGlobal> = new Map<string, SafeGlobal>([
  ['collections.OrderedDict', { call: orderedDict }],
  ['torch._utils._rebuild_tensor_v2', { call: (a) => rebuildTensor(a, 'torch._utils._rebuild_tensor_v2') }],
  ['torch._utils._rebuild_tensor', { call: (a) => rebuildTensor(a, 'torch._utils._rebuild_tensor') }],
  ['torch._utils._rebuild_parameter', { call: parameter }],
  ['torch._utils._rebuild_parameter_with_state', { call: parameter }],
  ...Object.entries(STORAGE_TYPES).map(([name, dtype]): [string, SafeGlobal] => [
    `torch.${name}`,
    { value: { kind: 'storage-type', dtype, name } satisfies TorchStorageType },
  ]),
]);

/** persistent_load for torch.save's zip format: ('storage', storage_type, key, location, numel). */
export function torchPersistentLoad(pid: unknown): TorchStorageRef {
  const p = pid as unknown[];
  const type = Array.isArray(p) ? (p[1] as TorchStorageType | undefined) : undefined;
  if (
    !Array.isArray(p) ||
    p[0] !== 'storage' ||
    type?.kind !== 'storage-type' ||
    typeof p[2] !== 'string' ||
    !/^[A-Za-z0-9_.-]{1,200}$/.test(p[2]) ||
    p[2].startsWith('.') ||
    !isInt(p[4]) ||
    p[4] < 0
  ) {
    throw new PickleError(
      `unsupported persistent id ${describe(pid)} (expected ('storage', <torch.*Storage>, key, location, numel))`,
    );
  }
  return { kind: 'storage', dtype: type.dtype, key: p[2], location: String(p[3]), numel: p[4] };
}

/** A short description of an unpickled value for messages: bounded in depth and length, never throws. */
export function describe(v: unknown, depth = 0): string {
  const s = describeInner(v, depth);
  return s.length > 200 ? s.slice(0, 200) + '…' : s;
}
function describeInner(v: unknown, depth: number): string {
  if (v === null) return 'None';
  if (typeof v === 'string') return JSON.stringify(v.length > 100 ? v.slice(0, 100) + '…' : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') {
    const s = v.toString();
    return s.length > 40 ? `${s.slice(0, 20)}…(${s.length} digits)` : s;
  }
  if (v instanceof GlobalRef) return v.qualname;
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  if (depth >= 3) return '…';
  const list = (items: Iterable<unknown>, open: string, close: string, n: number) => {
    const out: string[] = [];
    for (const it of items) {
      if (out.length === 5) {
        out.push(`… ${n} items`);
        break;
      }
      out.push(describeInner(it, depth + 1));
    }
    return open + out.join(', ') + close;
  };
  if (Array.isArray(v)) return list(v, '[', ']', v.length);
  if (v instanceof Set) return list(v, '{', '}', v.size);
  if (v instanceof Map)
    return list(
      [...v.keys()].slice(0, 6).map((k) => `${describeInner(k, depth + 1)}: ${describeInner(v.get(k), depth + 1)}`),
      '{',
      '}',
      v.size,
    );
  if (typeof v === 'object' && (v as { kind?: unknown }).kind) return `<${String((v as { kind: unknown }).kind)}>`;
  return typeof v;
}

export interface UnpickleOptions {
  globals?: ReadonlyMap<string, SafeGlobal>;
  persistentLoad?: (pid: unknown) => unknown;
  /** names the data in error messages, e.g. "model.pt: archive/data.pkl" */
  label?: string;
}

const MARK = Symbol('mark');

// Opcode names for error messages (protocol 0-5).
const OPNAMES: Record<number, string> = Object.fromEntries(
  Object.entries({
    MARK: '(',
    STOP: '.',
    POP: '0',
    POP_MARK: '1',
    DUP: '2',
    FLOAT: 'F',
    INT: 'I',
    BININT: 'J',
    BININT1: 'K',
    LONG: 'L',
    BININT2: 'M',
    NONE: 'N',
    PERSID: 'P',
    BINPERSID: 'Q',
    REDUCE: 'R',
    STRING: 'S',
    BINSTRING: 'T',
    SHORT_BINSTRING: 'U',
    UNICODE: 'V',
    BINUNICODE: 'X',
    APPEND: 'a',
    BUILD: 'b',
    GLOBAL: 'c',
    DICT: 'd',
    EMPTY_DICT: '}',
    APPENDS: 'e',
    GET: 'g',
    BINGET: 'h',
    INST: 'i',
    LONG_BINGET: 'j',
    LIST: 'l',
    EMPTY_LIST: ']',
    OBJ: 'o',
    PUT: 'p',
    BINPUT: 'q',
    LONG_BINPUT: 'r',
    SETITEM: 's',
    TUPLE: 't',
    EMPTY_TUPLE: ')',
    SETITEMS: 'u',
    BINFLOAT: 'G',
    PROTO: '\x80',
    NEWOBJ: '\x81',
    EXT1: '\x82',
    EXT2: '\x83',
    EXT4: '\x84',
    TUPLE1: '\x85',
    TUPLE2: '\x86',
    TUPLE3: '\x87',
    NEWTRUE: '\x88',
    NEWFALSE: '\x89',
    LONG1: '\x8a',
    LONG4: '\x8b',
    BINBYTES: 'B',
    SHORT_BINBYTES: 'C',
    SHORT_BINUNICODE: '\x8c',
    BINUNICODE8: '\x8d',
    BINBYTES8: '\x8e',
    EMPTY_SET: '\x8f',
    ADDITEMS: '\x90',
    FROZENSET: '\x91',
    NEWOBJ_EX: '\x92',
    STACK_GLOBAL: '\x93',
    MEMOIZE: '\x94',
    FRAME: '\x95',
    BYTEARRAY8: '\x96',
    NEXT_BUFFER: '\x97',
    READONLY_BUFFER: '\x98',
  }).map(([name, ch]) => [ch.charCodeAt(0), name]),
);

/** Run a pickle with the restricted VM and return the unpickled top-level value. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions = {}): unknown {
  const globals = opts.globals ?? TORCH_SAFE_GLOBALS;
  const persistentLoad = opts.persistentLoad ?? torchPersistentLoad;
  const label = opts.label ?? 'pickle';
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');
  let pos = 0;
  let op = 0;
  let opPos = 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (why: string): never => {
    throw new PickleError(`${label}: ${why} (opcode ${OPNAMES[op] ?? `0x${op.toString(16)}`} at byte ${opPos})`);
  };
  const need = (n: number) => {
    if (pos + n > bytes.length)
      fail(`truncated pickle data: needed ${n} more bytes at byte ${pos}, only ${bytes.length - pos} left`);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), (pos += 2), dv.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), dv.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), dv.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) fail(`length ${v} exceeds the pickle size`);
    return Number(v);
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('truncated pickle data: missing newline');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  let pushes = 0;
  // Every value the VM creates is pushed once: bounding pushes bounds the objects (and memory) a pickle can
  // make, whatever mix of lists, strings and memo references it uses.
  const push = (v: unknown): void => {
    if (++pushes > MAX_PUSHES)
      fail(`more than ${MAX_PUSHES} values: far beyond any state dict (corrupt or hostile pickle)`);
    stack.push(v);
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow (corrupt pickle)');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow (corrupt pickle)');
    return stack[stack.length - 1];
  };
  // Callers must call popMark() before touching `stack` (it replaces `stack`).
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) fail('MARK missing (corrupt pickle)');
    stack = prev!;
    return items;
  };
  const resolveGlobal = (module: string, name: string): GlobalRef => {
    const q = `${module}.${name}`;
    const g = globals.get(q);
    if (!g) throw new UnsafePickleError(q, label);
    return new GlobalRef(q, g);
  };
  const globalValue = (g: GlobalRef): unknown => ('value' in g.impl ? g.impl.value : g);
  const call = (callable: unknown, args: unknown): unknown => {
    if (!(callable instanceof GlobalRef) || typeof callable.impl.call !== 'function')
      fail(`cannot call ${describe(callable)}`);
    if (!Array.isArray(args)) fail('call arguments are not a tuple');
    try {
      return (callable as GlobalRef).impl.call!(args as unknown[]);
    } catch (e) {
      // the allow-listed constructors report what is wrong without the file; add it (and the byte offset)
      if (e instanceof PickleError && !(e instanceof UnsafePickleError)) return fail(e.message);
      throw e;
    }
  };
  const memoGet = (k: number | bigint) => {
    if (typeof k !== 'number' || !memo.has(k)) fail(`memo key ${describe(k)} is not defined (corrupt pickle)`);
    return memo.get(k as number);
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof Map)) fail('SETITEM(S) target is not a dict');
    if (items.length % 2) fail('odd number of items for SETITEMS');
    for (let i = 0; i < items.length; i += 2) (dict as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const appendItems = (list: unknown, items: unknown[]) => {
    if (!Array.isArray(list)) fail('APPEND(S) target is not a list');
    // One by one: push(...items) passes every item as an argument and overflows the stack for ~100k items.
    for (const it of items) (list as unknown[]).push(it);
  };
  const memoPut = (k: number | bigint) => {
    if (typeof k !== 'number' || k < 0) fail(`bad memo key ${describe(k)}`);
    if (memo.size >= MAX_MEMO && !memo.has(k as number)) fail(`more than ${MAX_MEMO} memo entries`);
    memo.set(k as number, top());
  };
  // Little-endian two's complement, decoded in linear time through one hex string (a BigInt shift per byte
  // would be quadratic).
  const longLE = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    if (b.length > MAX_LONG_BYTES)
      fail(
        `integer of ${b.length} bytes exceeds the limit of ${MAX_LONG_BYTES} (${MAX_INT_DIGITS} digits, as CPython)`,
      );
    let hex = '';
    for (let i = b.length - 1; i >= 0; i--) hex += b[i].toString(16).padStart(2, '0');
    let v = BigInt('0x' + hex);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    opPos = pos;
    if (pos >= bytes.length) fail('truncated pickle data: reached the end without STOP');
    op = bytes[pos++];
    switch (op) {
      case 0x80: {
        // PROTO
        const proto = u8();
        if (proto > 5) fail(`unsupported pickle protocol ${proto}`);
        break;
      }
      case 0x95:
        u64();
        break; // FRAME: framing is only a read-ahead hint
      case 0x28:
        if (metastack.length >= MAX_MARK_DEPTH) fail(`MARKs nested more than ${MAX_MARK_DEPTH} deep`);
        metastack.push(stack);
        stack = [];
        break; // MARK
      case 0x2e: {
        // STOP
        const result = pop();
        if (stack.length || metastack.length) fail('data left on the stack at STOP (corrupt pickle)');
        return result;
      }
      case 0x30:
        pop();
        break; // POP
      case 0x31:
        popMark();
        break; // POP_MARK
      case 0x32:
        push(top());
        break; // DUP
      case 0x4e:
        push(null);
        break; // NONE
      case 0x88:
        push(true);
        break; // NEWTRUE
      case 0x89:
        push(false);
        break; // NEWFALSE
      case 0x4a:
        push(i32());
        break; // BININT
      case 0x4b:
        push(u8());
        break; // BININT1
      case 0x4d:
        push(u16());
        break; // BININT2
      case 0x8a:
        push(longLE(take(u8())));
        break; // LONG1
      case 0x8b: {
        // LONG4
        const n = i32();
        if (n < 0) fail('negative LONG4 length');
        push(longLE(take(n)));
        break;
      }
      case 0x49: {
        // INT (protocol 0; also encodes bools as I01/I00)
        const s = line().trim();
        push(s === '01' ? true : s === '00' ? false : intFromText(s, fail));
        break;
      }
      case 0x4c:
        push(intFromText(line().trim().replace(/L$/, ''), fail));
        break; // LONG
      case 0x46: {
        // FLOAT: repr() text; a malformed one is corrupt (parseFloat would read a prefix or give NaN)
        const t = line().trim();
        if (t.length > 100 || !/^[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|inf|nan)$/i.test(t))
          fail(`bad float literal ${describe(t)}`);
        push(/inf/i.test(t) ? (t.startsWith('-') ? -Infinity : Infinity) : /nan/i.test(t) ? NaN : Number(t));
        break;
      }
      case 0x47:
        need(8);
        push(dv.getFloat64(pos, false));
        pos += 8;
        break; // BINFLOAT (big-endian!)
      case 0x58:
        push(utf8.decode(take(u32())));
        break; // BINUNICODE
      case 0x8c:
        push(utf8.decode(take(u8())));
        break; // SHORT_BINUNICODE
      case 0x8d:
        push(utf8.decode(take(u64())));
        break; // BINUNICODE8
      case 0x54: {
        // BINSTRING (Python 2 str)
        const n = i32();
        if (n < 0) fail('negative BINSTRING length');
        push(latin1.decode(take(n)));
        break;
      }
      case 0x55:
        push(latin1.decode(take(u8())));
        break; // SHORT_BINSTRING
      case 0x42:
        push(take(u32()).slice());
        break; // BINBYTES
      case 0x43:
        push(take(u8()).slice());
        break; // SHORT_BINBYTES
      case 0x8e:
        push(take(u64()).slice());
        break; // BINBYTES8
      case 0x96:
        push(take(u64()).slice());
        break; // BYTEARRAY8
      case 0x5d:
        push([]);
        break; // EMPTY_LIST
      case 0x29:
        push([]);
        break; // EMPTY_TUPLE
      case 0x7d:
        push(new Map());
        break; // EMPTY_DICT
      case 0x8f:
        push(new Set());
        break; // EMPTY_SET
      case 0x6c:
      case 0x74: {
        const items = popMark();
        push(items);
        break;
      } // LIST, TUPLE
      case 0x85:
        push([pop()]);
        break; // TUPLE1
      case 0x86: {
        const b = pop();
        const a = pop();
        push([a, b]);
        break;
      } // TUPLE2
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        push([a, b, c]);
        break;
      } // TUPLE3
      case 0x64: {
        const m = new Map();
        setItems(m, popMark());
        push(m);
        break;
      } // DICT
      case 0x91: {
        const items = popMark();
        push(new Set(items));
        break;
      } // FROZENSET
      case 0x61: {
        const v = pop();
        appendItems(top(), [v]);
        break;
      } // APPEND
      case 0x65: {
        const items = popMark();
        appendItems(top(), items);
        break;
      } // APPENDS
      case 0x73: {
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      } // SETITEM
      case 0x75: {
        const items = popMark();
        setItems(top(), items);
        break;
      } // SETITEMS
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail('ADDITEMS target is not a set');
        for (const it of items) (s as Set<unknown>).add(it);
        break;
      }
      case 0x70:
        memoPut(intFromText(line(), fail));
        break; // PUT
      case 0x71:
        memoPut(u8());
        break; // BINPUT
      case 0x72:
        memoPut(u32());
        break; // LONG_BINPUT
      case 0x94:
        memoPut(memo.size);
        break; // MEMOIZE
      case 0x67:
        push(memoGet(intFromText(line(), fail)));
        break; // GET
      case 0x68:
        push(memoGet(u8()));
        break; // BINGET
      case 0x6a:
        push(memoGet(u32()));
        break; // LONG_BINGET
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        push(globalValue(resolveGlobal(module, name)));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(globalValue(resolveGlobal(module as string, name as string)));
        break;
      }
      case 0x69: {
        // INST "module\nname\n" with args since MARK
        const g = resolveGlobal(line(), line());
        const args = popMark();
        push(call(g, args));
        break;
      }
      case 0x6f: {
        // OBJ: class and args since MARK
        const items = popMark();
        push(call(items[0], items.slice(1)));
        break;
      }
      case 0x52: {
        const args = pop();
        const fn = pop();
        push(call(fn, args));
        break;
      } // REDUCE
      case 0x81: {
        const args = pop();
        const cls = pop();
        push(call(cls, args));
        break;
      } // NEWOBJ
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (kwargs instanceof Map && kwargs.size) fail('NEWOBJ_EX with keyword arguments is not supported');
        push(call(cls, args));
        break;
      }
      case 0x62: {
        // BUILD: set state on the object below it
        const state = pop();
        const obj = top();
        // OrderedDict state is its __dict__ (state_dict()._metadata: per-module version numbers);
        // parameters may carry hooks/state. Neither matters for inference weights.
        if (!(obj instanceof Map) && (obj as TorchTensorRef | null)?.kind !== 'tensor') {
          fail(`BUILD on unsupported object ${describe(obj)} with state ${describe(state)}`);
        }
        break;
      }
      case 0x51:
      case 0x50: {
        // BINPERSID / PERSID
        const pid = op === 0x51 ? pop() : line();
        try {
          push(persistentLoad(pid));
        } catch (e) {
          if (e instanceof PickleError && !(e instanceof UnsafePickleError)) fail(e.message);
          throw e;
        }
        break;
      }
      case 0x82:
      case 0x83:
      case 0x84: // EXT1/2/4: the copyreg extension registry can name any callable
        throw new UnsafePickleError(`<copyreg extension code, opcode ${OPNAMES[op]}>`, label);
      default:
        fail(
          `unsupported or invalid pickle opcode 0x${op.toString(16).padStart(2, '0')}${OPNAMES[op] ? ` (${OPNAMES[op]})` : ''}`,
        );
    }
  }
}

function intFromText(s: string, fail: (why: string) => never): number | bigint {
  const t = s.trim();
  if (t.length > MAX_INT_DIGITS + 1)
    fail(`integer literal of ${t.length} characters exceeds the limit of ${MAX_INT_DIGITS} digits (as CPython)`);
  if (!/^[-+]?\d+$/.test(t)) fail(`bad integer literal ${describe(t)}`);
  const b = BigInt(t);
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}
