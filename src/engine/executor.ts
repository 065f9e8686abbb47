// The executor owns memory and submission: tensors come from a pool, dispatches are recorded into one open
// compute pass and submitted every `flushEvery` dispatches, uniforms go into one arena written once per
// submission. Validation errors, compile errors and lost devices surface as exceptions naming the kernel.
import { Adapter, parseVariantForce, type VariantForce } from './adapter.js';
import { acquireGpu, type GpuContext } from './device.js';
import { packParams, type Kernel, type ParamValue } from './kernel.js';
import { kernelKey, PipelineCache, type KernelSpec } from './pipelines.js';
import { BufferPool, fmtBytes } from './pool.js';
import type { KernelRecord } from './profiler.js';
import { Storage, Tensor, shapeSize } from './tensor.js';

export type Binding = Tensor;

/** An open scope (Engine.beginScope). */
export type ScopeToken = object;

export interface Dispatch {
  /** a kernel declared with `defineKernels` */
  kernel: Kernel;
  /** WGSL `override` constants (tile sizes, component counts); an optional binding's flag is set by `run` */
  constants?: Record<string, number>;
  /** the kernel's uniforms by name, packed by their declared types */
  params?: Record<string, ParamValue>;
  /** the kernel's storage buffers by name; an optional one may be omitted or null */
  buffers: Record<string, Binding | null | undefined>;
  /** workgroup counts */
  grid: [number, number?, number?];
  /** for the profiler: useful floating-point operations and bytes moved by this dispatch */
  flops?: number;
  bytes?: number;
  label?: string;
}

const ARENA_BYTES = 1 << 18;

export interface EngineOptions {
  gpu?: GpuContext;
  /** dispatches per submitted command buffer */
  flushEvery?: number;
  /**
   * kernel variants to force (see adapter.ts); default: the POSTERIOR_KERNELS environment variable
   * (`portable`, `simd`, or `conv2d=portable,attention=simd`) on Node, else automatic
   */
  kernels?: VariantForce;
  /**
   * bind at most this many bytes per storage buffer (below the adapter's limit): emulates a browser's
   * 128 MiB default on adapters that allow more, and lets tests drive the paths that keep tensors small
   */
  maxStorageBinding?: number;
}

export class Engine {
  readonly device: GPUDevice;
  readonly limits: GPUSupportedLimits;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  /** the adapter class and the kernel variant of each op (one place decides) */
  readonly adapter: Adapter;
  private flushEvery: number;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private recorded = 0;
  private arena: GPUBuffer;
  /** bound in place of an absent optional binding (the shader is told by its flag and never reads it) */
  private filler: GPUBuffer;
  private arenaCpu = new Uint8Array(ARENA_BYTES);
  private arenaUsed = 0;
  private uniformAlign: number;
  private storageAlign: number;
  private errors: Promise<void>[] = [];
  private deviceError: Error | null = null;
  private lastKernel = '';
  /** every storage not yet released, and the storages allocated in each open `scope` */
  private live = new Set<Storage>();
  private scopes: Storage[][] = [];
  private closed = new WeakSet<object>();
  /** storages of the engine's own caches (`persistent`) */
  private owned: Storage[] = [];
  /** set during warmup(): the kernels dispatched so far, by key (nothing runs) */
  private discovered: Map<string, KernelSpec> | null = null;

  // profiling state
  private profiling = false;
  private querySet: GPUQuerySet | null = null;
  private queryCapacity = 0;
  private queriesUsed = 0;
  private pendingRecords: Array<KernelRecord & { query: number }> = [];
  private resolved: Array<Promise<void>> = [];
  records: KernelRecord[] = [];
  dispatchCount = 0;

  static async create(opts: EngineOptions = {}): Promise<Engine> {
    return new Engine(opts.gpu ?? (await acquireGpu()), opts);
  }

  constructor(
    readonly gpu: GpuContext,
    opts: EngineOptions = {},
  ) {
    this.device = gpu.device;
    this.limits = gpu.device.limits;
    if (opts.maxStorageBinding !== undefined) {
      const l: Record<string, number> = {};
      for (const k in this.limits) l[k] = (this.limits as any)[k];
      l.maxStorageBufferBindingSize = Math.min(l.maxStorageBufferBindingSize, opts.maxStorageBinding);
      this.limits = l as unknown as GPUSupportedLimits;
    }
    this.flushEvery = opts.flushEvery ?? 64;
    const env = (globalThis as any).process?.env?.POSTERIOR_KERNELS as string | undefined;
    this.adapter = new Adapter(gpu, opts.kernels ?? (env ? parseVariantForce(env) : {}));
    this.pool = new BufferPool(
      this.device,
      Math.min(this.limits.maxBufferSize, this.limits.maxStorageBufferBindingSize),
    );
    this.pipelines = new PipelineCache(this.device);
    this.uniformAlign = this.limits.minUniformBufferOffsetAlignment;
    this.storageAlign = this.limits.minStorageBufferOffsetAlignment;
    this.arena = this.device.createBuffer({
      size: ARENA_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: 'uniform-arena',
    });
    this.filler = this.device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE, label: 'absent-binding' });
    this.device.addEventListener('uncapturederror', (ev: any) => {
      this.deviceError ??= new Error(`WebGPU error near kernel '${this.lastKernel}': ${ev.error?.message ?? ev}`);
    });
    this.device.lost.then((info) => {
      if (info.reason !== 'destroyed') this.deviceError ??= new Error(`WebGPU device lost: ${info.message}`);
    });
  }

  // ---------------------------------------------------------------- memory

  tensor(shape: readonly number[], label = 'tensor'): Tensor {
    const n = shapeSize(shape);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`tensor '${label}': invalid shape [${shape}]`);
    const s = new Storage(this.pool.acquire(n * 4, label), label);
    this.live.add(s);
    const top = this.scopes[this.scopes.length - 1];
    if (top) (top.push(s), (s.scope = top));
    return new Tensor(s, shape, label);
  }

  /** A new tensor holding `data` (Float32Array, or Uint32Array/Int32Array reinterpreted bitwise). */
  upload(data: Float32Array | Uint32Array | Int32Array, shape: readonly number[], label = 'upload'): Tensor {
    if (data.length !== shapeSize(shape)) {
      throw new Error(`upload '${label}': ${data.length} values for shape [${shape}] (${shapeSize(shape)} elements)`);
    }
    const t = this.tensor(shape, label);
    this.write(t, data);
    return t;
  }

  write(t: Tensor, data: Float32Array | Uint32Array | Int32Array): void {
    if (data.length !== t.size) throw new Error(`write '${t.label}': ${data.length} values for ${t.size} elements`);
    // Recorded work that still reads the old contents must reach the queue before the write does.
    this.flush();
    this.device.queue.writeBuffer(t.buffer, t.offset * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  /**
   * Returns tensors to the pool (null and undefined are skipped). Releasing a view ends its borrow. Throws
   * on a double release and on releasing a tensor while a view of it is held.
   */
  release(...ts: Array<Tensor | null | undefined>): void {
    for (const t of ts) {
      if (!t) continue;
      const s = t.storage;
      if (t.borrow) {
        if (t.borrow.ended || s.released) throw new Error(`release of view of '${t.label}': already released`);
        t.borrow.ended = true;
        s.views--;
        continue;
      }
      this.free(s, t.label);
    }
  }

  private free(s: Storage, label: string): void {
    if (s.released) throw new Error(`release of '${label}': already released (double release)`);
    if (s.views > 0) {
      throw new Error(`release of '${label}' while ${s.views} view(s) of it are still held (release them first)`);
    }
    s.released = true;
    this.live.delete(s);
    this.pool.release(s.buffer);
  }

  /**
   * Runs `fn` and releases every tensor allocated during it that is still alive afterwards, except those in
   * its result (a tensor, or arrays / plain objects of them, searched three levels deep); kept tensors belong
   * to the enclosing scope. Also cleans up when `fn` throws. Async functions are awaited.
   */
  scope<T>(fn: () => Promise<T>): Promise<T>;
  scope<T>(fn: () => T): T;
  scope<T>(fn: () => T | Promise<T>): T | Promise<T> {
    const token = this.beginScope();
    let r: T | Promise<T>;
    try {
      r = fn();
    } catch (e) {
      this.endScope(token);
      throw e;
    }
    if (r instanceof Promise) {
      return r.then(
        (v) => (this.endScope(token, v), v),
        (e) => {
          this.endScope(token);
          throw e;
        },
      );
    }
    this.endScope(token, r);
    return r;
  }

  /** Opens a scope by hand (test/setup.ts opens one per test); close it with `endScope`. */
  beginScope(): ScopeToken {
    const token: Storage[] = [];
    this.scopes.push(token);
    return token;
  }

  /**
   * Closes a scope: releases what was allocated in it and is still alive, except the tensors in `keep`
   * (searched as in `scope`), which move to the enclosing scope. Views of released temporaries end with them.
   */
  endScope(token: ScopeToken, keep?: unknown): void {
    const mine = token as Storage[];
    const at = this.scopes.lastIndexOf(mine);
    if (at < 0) throw new Error('endScope: this scope is not open');
    this.scopes.splice(at, 1);
    this.closed.add(mine);
    const kept = new Set<Storage>();
    collectStorages(keep, kept, 3);
    const outer = this.scopes[this.scopes.length - 1];
    for (const s of mine) {
      if (s.released) continue;
      if (kept.has(s)) {
        outer?.push(s);
        s.scope = outer ?? null;
      } else {
        s.views = 0;
        this.free(s, s.label);
      }
    }
  }

  /** The innermost open scope (null: none), to build an object's state later in the scope it was made in. */
  currentScope(): ScopeToken | null {
    return this.scopes[this.scopes.length - 1] ?? null;
  }

  /**
   * Runs `fn` with its allocations recorded in `scope` only (null, or a scope already closed: in none).
   * For an object's lazily built state (an operator's SVD factors, a table cache): it lives as long as the
   * object, not as long as the scope that happened to trigger the build.
   */
  inScope<T>(scope: ScopeToken | null, fn: () => T): T {
    const saved = this.scopes;
    this.scopes = scope && !this.closed.has(scope) ? [scope as Storage[]] : [];
    try {
      return fn();
    } finally {
      this.scopes = saved;
    }
  }

  /** `inScope` of the scope that `owner` (a tensor of the object being extended) was allocated in. */
  alongside<T>(owner: Tensor, fn: () => T): T {
    return this.inScope(owner.storage.scope, fn);
  }

  /** Runs `fn` outside every scope; what it allocates belongs to the engine (shared caches): freed by `destroy`. */
  persistent<T>(fn: () => T): T {
    const before = new Set(this.live);
    const r = this.inScope(null, fn);
    for (const s of this.live) if (!before.has(s)) (this.live.delete(s), this.owned.push(s));
    return r;
  }

  /** Labels and sizes of the tensors not yet released, except the engine's own caches (for leak reports). */
  liveTensors(): string[] {
    return [...this.live].map((s) => `${s.label} (${fmtBytes(s.buffer.size)})`);
  }

  /** Bytes held by tensors not yet released, except the engine's own caches. */
  get liveBytes(): number {
    let n = 0;
    for (const s of this.live) n += s.buffer.size;
    return n;
  }

  async read(t: Tensor): Promise<Float32Array> {
    return new Float32Array(await this.readBytes(t));
  }

  async readU32(t: Tensor): Promise<Uint32Array> {
    return new Uint32Array(await this.readBytes(t));
  }

  private async readBytes(t: Tensor): Promise<ArrayBuffer> {
    if (this.discovered) return new ArrayBuffer(t.byteSize); // warm-up: nothing ran, zeros stand in
    this.flush();
    const staging = this.device.createBuffer({
      size: t.byteSize,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(t.buffer, t.offset * 4, staging, 0, t.byteSize);
    this.device.queue.submit([enc.finish()]);
    // Dawn on Node with lavapipe has aborted ("futex facility", "mutex owner died") when mapAsync was
    // issued while the queue was still busy; waiting for the queue first has been reliable.
    await this.device.queue.onSubmittedWorkDone();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      await this.checkErrors();
      throw e;
    }
    const out = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    await this.checkErrors();
    return out;
  }

  // ---------------------------------------------------------------- dispatch

  run(d: Dispatch): void {
    if (this.deviceError) throw this.deviceError;
    const k = d.kernel;
    const u = packParams(k, d.params);
    const buffers = this.resolveBuffers(d);
    let constants = d.constants;
    for (const b of k.bindings) {
      if (!b.optional) continue;
      if (constants && b.optional in constants) {
        throw new Error(
          `kernel '${k.name}': override '${b.optional}' is set from binding '${b.name}', not by the caller`,
        );
      }
      constants = { ...constants, [b.optional]: buffers[b.binding - 1] ? 1 : 0 };
    }
    const spec = { family: k.family, entry: k.entry, constants };
    const name = kernelKey(spec);
    this.lastKernel = d.label ?? name;
    const [gx, gy = 1, gz = 1] = d.grid;
    const maxG = this.limits.maxComputeWorkgroupsPerDimension;
    if (gx > maxG || gy > maxG || gz > maxG) {
      throw new Error(`kernel '${name}': grid [${gx},${gy},${gz}] exceeds maxComputeWorkgroupsPerDimension ${maxG}`);
    }
    if (gx === 0 || gy === 0 || gz === 0) return;
    if (this.discovered) return void this.discovered.set(name, spec);
    const pipeline = this.pipelines.get(spec);

    const entries: GPUBindGroupEntry[] = [];
    if (u) {
      const bytes = u.byteLength;
      if (this.arenaUsed + bytes > ARENA_BYTES) this.flush();
      const off = this.arenaUsed;
      this.arenaCpu.set(new Uint8Array(u), off);
      this.arenaUsed = Math.ceil((off + bytes) / this.uniformAlign) * this.uniformAlign;
      entries.push({ binding: 0, resource: { buffer: this.arena, offset: off, size: bytes } });
    }
    k.bindings.forEach((slot, i) => {
      const t = buffers[i];
      const res = t
        ? { buffer: t.buffer, offset: t.offset * 4, size: t.byteSize }
        : { buffer: this.filler, offset: 0, size: this.filler.size };
      if (res.size > this.limits.maxStorageBufferBindingSize) {
        throw new Error(
          `buffer limit exceeded: kernel '${name}' binds ${fmtBytes(res.size)} at '${slot.name}', ` +
            `over maxStorageBufferBindingSize ${fmtBytes(this.limits.maxStorageBufferBindingSize)}`,
        );
      }
      if (res.offset % this.storageAlign) {
        throw new Error(
          `kernel '${name}': binding '${slot.name}' offset ${res.offset} is not ${this.storageAlign}-byte aligned`,
        );
      }
      entries.push({ binding: slot.binding, resource: res });
    });
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label: name });

    if (this.profiling) this.runProfiled(pipeline, bindGroup, [gx, gy, gz], d, name);
    else {
      if (!this.pass) {
        this.encoder = this.device.createCommandEncoder();
        this.device.pushErrorScope('validation');
        this.pass = this.encoder.beginComputePass();
      }
      this.pass.setPipeline(pipeline);
      this.pass.setBindGroup(0, bindGroup);
      this.pass.dispatchWorkgroups(gx, gy, gz);
    }
    this.dispatchCount++;
    if (++this.recorded >= this.flushEvery) this.flush();
  }

  /** The tensor behind each binding slot of `d.kernel` (null: an optional one not given); refuses bad names. */
  private resolveBuffers(d: Dispatch): Array<Tensor | null> {
    const k = d.kernel;
    const given = d.buffers;
    for (const name in given) {
      if (!k.byName.has(name)) {
        throw new Error(`kernel '${k.name}': unknown buffer '${name}' (it takes: ${[...k.byName.keys()].join(', ')})`);
      }
    }
    return k.bindings.map((b) => {
      const t = given[b.view ?? b.name];
      if (t === undefined || t === null) {
        if (b.optional) return null;
        throw new Error(`kernel '${k.name}': missing buffer '${b.name}'`);
      }
      if (!(t instanceof Tensor)) throw new Error(`kernel '${k.name}': buffer '${b.name}' is not a tensor`);
      return t;
    });
  }

  private runProfiled(pipeline: GPUComputePipeline, bg: GPUBindGroup, g: number[], d: Dispatch, name: string) {
    const rec = { label: d.label ?? name, kernel: name, flops: d.flops ?? 0, bytes: d.bytes ?? 0, ms: 0 };
    if (!this.encoder) {
      this.encoder = this.device.createCommandEncoder();
      this.device.pushErrorScope('validation');
    }
    if (this.gpu.hasTimestamps) {
      if (this.queriesUsed + 2 > this.queryCapacity) this.flush();
      if (!this.encoder) {
        this.encoder = this.device.createCommandEncoder();
        this.device.pushErrorScope('validation');
      }
      const q = this.queriesUsed;
      this.queriesUsed += 2;
      const pass = this.encoder.beginComputePass({
        timestampWrites: { querySet: this.querySet!, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 },
      });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(g[0], g[1], g[2]);
      pass.end();
      this.pendingRecords.push({ ...rec, query: q });
    } else {
      // No timestamps: submit the dispatch alone and time it on the CPU.
      const pass = this.encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(g[0], g[1], g[2]);
      pass.end();
      const t0 = performance.now();
      this.flush();
      const r = { ...rec };
      this.records.push(r);
      this.resolved.push(this.device.queue.onSubmittedWorkDone().then(() => void (r.ms = performance.now() - t0)));
    }
  }

  /** Submit everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.pass?.end();
    this.pass = null;
    let readTimestamps: (() => void) | null = null;
    if (this.pendingRecords.length) {
      const n = this.queriesUsed;
      const resolve = this.device.createBuffer({
        size: n * 8,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      });
      const staging = this.device.createBuffer({
        size: n * 8,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      this.encoder.resolveQuerySet(this.querySet!, 0, n, resolve, 0);
      this.encoder.copyBufferToBuffer(resolve, 0, staging, 0, n * 8);
      const recs = this.pendingRecords;
      this.pendingRecords = [];
      this.queriesUsed = 0;
      this.records.push(...recs);
      readTimestamps = () =>
        this.resolved.push(
          (async () => {
            await staging.mapAsync(GPUMapMode.READ);
            const ts = new BigInt64Array(staging.getMappedRange());
            for (const r of recs) {
              r.ms = Number(ts[r.query + 1] - ts[r.query]) / 1e6;
              r.startMs = Number(ts[r.query]) / 1e6;
            }
            staging.unmap();
            staging.destroy();
            resolve.destroy();
          })(),
        );
    }
    if (this.arenaUsed) this.device.queue.writeBuffer(this.arena, 0, this.arenaCpu, 0, this.arenaUsed);
    this.arenaUsed = 0;
    this.device.queue.submit([this.encoder.finish()]);
    // mapAsync on the staging buffer only after the submit that copies into it
    readTimestamps?.();
    this.encoder = null;
    this.recorded = 0;
    const err = this.device.popErrorScope().then((e) => {
      if (e)
        throw new Error(`WebGPU validation error (kernel '${this.lastKernel}' or earlier in this batch): ${e.message}`);
    });
    this.errors.push(err);
  }

  /**
   * Warm-up before a run: call `fn` (typically the run's first step) without executing any kernel — each
   * dispatch only records the kernel it needs and reads return zeros — then compile every kernel found
   * asynchronously and in parallel (PipelineCache.prepare), so the real run starts with its pipelines
   * ready. An error of `fn` on the zero data ends the discovery early; what was found is still compiled.
   */
  async warmup(fn: () => unknown): Promise<{ kernels: number; seconds: number }> {
    const t0 = performance.now();
    await this.sync();
    const found = new Map<string, KernelSpec>();
    this.discovered = found;
    try {
      await fn();
    } catch {
      // zeros in place of data may trip a check late in fn; the kernels before it are what matter
    } finally {
      this.discovered = null;
    }
    const kernels = await this.pipelines.prepare(found.values());
    return { kernels, seconds: (performance.now() - t0) / 1000 };
  }

  /** Wait for all submitted work; rethrow compile, validation and device errors. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  private async checkErrors(): Promise<void> {
    const pend = [...this.pipelines.pending, ...this.errors];
    this.pipelines.pending = [];
    this.errors = [];
    await Promise.all(pend);
    if (this.deviceError) throw this.deviceError;
  }

  // ---------------------------------------------------------------- profiling

  /** Start recording per-dispatch GPU times (clears earlier records). */
  startProfiling(capacity = 2048): void {
    this.flush();
    this.profiling = true;
    this.records = [];
    if (this.gpu.hasTimestamps && (!this.querySet || this.queryCapacity < capacity * 2)) {
      this.querySet?.destroy();
      this.queryCapacity = Math.min(capacity * 2, 4096);
      this.querySet = this.device.createQuerySet({ type: 'timestamp', count: this.queryCapacity });
    }
  }

  /** Stop profiling and return the records with their GPU times filled in. */
  async stopProfiling(): Promise<KernelRecord[]> {
    this.flush();
    this.profiling = false;
    await Promise.all(this.resolved);
    this.resolved = [];
    await this.checkErrors();
    return this.records;
  }

  get timingSource(): string {
    return this.gpu.hasTimestamps ? 'GPU timestamps' : 'wall time per dispatch (no timestamp-query)';
  }

  destroy(): void {
    this.flush();
    for (const s of this.owned) this.free(s, s.label);
    this.owned = [];
    this.pool.destroyFree();
    this.device.destroy();
  }
}

function collectStorages(v: unknown, into: Set<Storage>, depth: number): void {
  if (v instanceof Tensor) into.add(v.storage);
  else if (depth > 0 && Array.isArray(v)) for (const x of v) collectStorages(x, into, depth - 1);
  else if (depth > 0 && v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
    for (const x of Object.values(v)) collectStorages(x, into, depth - 1);
}
