// Exit 0 and print the adapter when Dawn (npm `webgpu`) finds a usable WebGPU adapter, else exit 1.
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) {
  console.error('no WebGPU adapter');
  process.exit(1);
}
try {
  const device = await adapter.requestDevice();
  const info = adapter.info ?? {};
  console.log(
    `adapter: ${info.vendor ?? '?'} ${info.architecture ?? ''} ${info.description ?? ''}; features: ${[...adapter.features].join(',')}`,
  );
  device.destroy();
  process.exit(0);
} catch (e) {
  console.error(String(e));
  process.exit(1);
}
