// WGSL sources live in `shaders/<family>.wgsl`. On Node they are read from disk on first use; a browser
// bundle registers them up front (web/ uses an esbuild plugin that inlines the folder).
const sources = new Map<string, string>();

export function registerShaderSources(map: Record<string, string>): void {
  for (const [name, text] of Object.entries(map)) sources.set(name, text);
}

/**
 * The WGSL of a family with its `//#include NAME` lines replaced by shaders/NAME.wgsl (WGSL has no
 * includes; this keeps shared helpers such as the hyper-dual arithmetic in one file).
 */
export function shaderSource(family: string): string {
  return rawSource(family).replace(/^\/\/#include (\S+)\s*$/gm, (_, name: string) => rawSource(name));
}

function rawSource(family: string): string {
  let text = sources.get(family);
  if (text !== undefined) return text;
  const proc = (globalThis as any).process;
  const fs = proc?.getBuiltinModule?.('fs');
  if (!fs)
    throw new Error(`WGSL family '${family}' is not registered (browser builds must call registerShaderSources)`);
  const url = new URL(`../../shaders/${family}.wgsl`, import.meta.url);
  try {
    text = fs.readFileSync(url, 'utf8') as string;
  } catch {
    throw new Error(`WGSL family '${family}': no file shaders/${family}.wgsl`);
  }
  sources.set(family, text);
  return text;
}
