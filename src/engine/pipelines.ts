// Compute pipelines cached by (WGSL family, entry point, override constants). Shapes travel as uniforms,
// so a new resolution never recompiles; only what changes the generated code is part of the key.
import { shaderSource } from './shaders.js';

export interface KernelSpec {
  /** file name in shaders/ without .wgsl */
  family: string;
  /** entry point; defaults to `main` */
  entry?: string;
  /** WGSL `override` constants (tile sizes, component counts, flags) */
  constants?: Record<string, number>;
}

export function kernelKey(k: KernelSpec): string {
  const c = k.constants ? Object.entries(k.constants).sort(([a], [b]) => (a < b ? -1 : 1)) : [];
  return `${k.family}:${k.entry ?? 'main'}${c.length ? '{' + c.map(([n, v]) => `${n}=${v}`).join(',') + '}' : ''}`;
}

export class PipelineCache {
  private modules = new Map<string, GPUShaderModule>();
  private pipelines = new Map<string, GPUComputePipeline>();
  /** compile/validation checks still in flight: awaited by Engine.sync() */
  pending: Promise<void>[] = [];

  constructor(private device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  get(k: KernelSpec): GPUComputePipeline {
    const key = kernelKey(k);
    let p = this.pipelines.get(key);
    if (p) return p;
    const module = this.module(k.family);
    this.device.pushErrorScope('validation');
    p = this.device.createComputePipeline({
      label: key,
      layout: 'auto',
      compute: { module, entryPoint: k.entry ?? 'main', constants: k.constants },
    });
    const check = this.device.popErrorScope().then(async (err) => {
      if (err) throw await compileError(key, module, err.message);
    });
    this.pending.push(check);
    this.pipelines.set(key, p);
    return p;
  }

  /**
   * Compile kernels ahead of their first dispatch with createComputePipelineAsync, all in flight at once
   * (an implementation may compile them in parallel; get() compiles each new kernel in the middle of the
   * work that needs it). Later get() calls find them ready. Resolves to how many were compiled.
   */
  async prepare(specs: Iterable<KernelSpec>): Promise<number> {
    const todo = new Map<string, KernelSpec>();
    for (const k of specs) {
      const key = kernelKey(k);
      if (!this.pipelines.has(key)) todo.set(key, k);
    }
    await Promise.all(
      [...todo].map(async ([key, k]) => {
        const module = this.module(k.family);
        let p: GPUComputePipeline;
        try {
          p = await this.device.createComputePipelineAsync({
            label: key,
            layout: 'auto',
            compute: { module, entryPoint: k.entry ?? 'main', constants: k.constants },
          });
        } catch (e) {
          throw await compileError(key, module, (e as Error).message);
        }
        if (!this.pipelines.has(key)) this.pipelines.set(key, p);
      }),
    );
    return todo.size;
  }

  private module(family: string): GPUShaderModule {
    let m = this.modules.get(family);
    if (!m) {
      m = this.device.createShaderModule({ label: family, code: shaderSource(family) });
      this.modules.set(family, m);
    }
    return m;
  }
}

async function compileError(key: string, module: GPUShaderModule, message: string): Promise<Error> {
  let detail = '';
  try {
    const info = await module.getCompilationInfo();
    detail = info.messages.map((m) => `  ${m.type} at line ${m.lineNum}:${m.linePos}: ${m.message}`).join('\n');
  } catch {}
  return new Error(`kernel '${key}' failed to compile: ${message}${detail ? '\n' + detail : ''}`);
}
