// One function to get a WebGPU device on Node (Dawn via the npm `webgpu` package) or in a browser
// (navigator.gpu). We request the adapter's real limits: the spec defaults (128 MiB storage bindings,
// 16 KiB workgroup memory) are far below what a UNet at 256×256 needs on a real GPU.

export interface GpuContext {
  /** the GPU (instance) object: must stay reachable while the device lives — see nodeGpu() */
  gpu: GPU;
  device: GPUDevice;
  adapter: GPUAdapter;
  /** human-readable adapter description */
  description: string;
  hasTimestamps: boolean;
  hasF16: boolean;
  hasSubgroups: boolean;
}

export class NoAdapterError extends Error {
  constructor(detail: string) {
    super(
      `No WebGPU adapter: ${detail}. On Linux without a GPU install Mesa's software Vulkan driver ` +
        `(lavapipe, Mesa >= 23): run scripts/ensure-vulkan.sh, which adds Debian bookworm-backports.`,
    );
    this.name = 'NoAdapterError';
  }
}

async function nodeGpu(): Promise<GPU> {
  // Dynamic import keeps the browser bundle free of the native module; it is an optional dependency.
  let mod: any;
  try {
    mod = await import(/* @vite-ignore */ 'webgpu' as string);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw new NoAdapterError("the npm package 'webgpu' (Dawn for Node) is not installed: npm i webgpu");
  }
  Object.assign(globalThis, mod.globals);
  // Dawn on Node needs a runtime dir for its caches; a private temp dir avoids permission noise.
  const proc = (globalThis as any).process;
  if (proc && !proc.env.XDG_RUNTIME_DIR) {
    const os = proc.getBuiltinModule?.('os');
    const fs = proc.getBuiltinModule?.('fs');
    if (os && fs) proc.env.XDG_RUNTIME_DIR = fs.mkdtempSync(`${os.tmpdir()}/webgpu-dps-`);
  }
  // dawn.node frees its native instance when the JS GPU object is garbage-collected, even while devices
  // created from it are alive; its event pump then crashes the process (futex / mutex-owner aborts,
  // seen under load here). Keep every instance reachable for the life of the process.
  const gpu = mod.create([]) as GPU;
  liveInstances.push(gpu);
  return gpu;
}
const liveInstances: GPU[] = [];

let shared: Promise<GpuContext> | undefined;

/** The process-wide device (created once). */
export function getGpu(): Promise<GpuContext> {
  shared ??= acquireGpu();
  return shared;
}

export async function acquireGpu(opts: { powerPreference?: GPUPowerPreference } = {}): Promise<GpuContext> {
  const nav = (globalThis as any).navigator;
  let gpu: GPU | undefined = nav?.gpu;
  if (!gpu) {
    if (typeof (globalThis as any).process?.versions?.node !== 'string') {
      throw new NoAdapterError('this browser has no navigator.gpu (enable WebGPU)');
    }
    gpu = await nodeGpu();
  }
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) throw new NoAdapterError('requestAdapter() returned null');
  const want = (f: string) => adapter.features.has(f as GPUFeatureName);
  const requiredFeatures: GPUFeatureName[] = [];
  for (const f of ['timestamp-query', 'shader-f16', 'subgroups'])
    if (want(f)) requiredFeatures.push(f as GPUFeatureName);
  const L = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
    maxBufferSize: L.maxBufferSize,
    maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: L.maxComputeWorkgroupSizeY,
    maxComputeWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension,
    maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
  };
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const info: any = (adapter as any).info ?? {};
  return {
    gpu,
    device,
    adapter,
    description: [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter',
    hasTimestamps: device.features.has('timestamp-query'),
    hasF16: device.features.has('shader-f16'),
    hasSubgroups: device.features.has('subgroups'),
  };
}
