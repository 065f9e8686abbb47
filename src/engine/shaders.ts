// WGSL sources live in `shaders/<family>.wgsl`. On Node they are read from disk on first use; a browser
// bundle registers them up front (web/ uses an esbuild plugin that inlines the folder).
const sources = new Map<string, string>();
/** generated `struct Params` and binding declarations per family (src/engine/kernel.ts) */
const interfaces = new Map<string, string>();

export function registerShaderSources(map: Record<string, string>): void {
  for (const [name, text] of Object.entries(map)) sources.set(name, text);
}

/** Called by `defineKernels`: the family's interface, spliced in where its WGSL says `//#interface`. */
export function registerInterface(family: string, header: string): void {
  if (interfaces.has(family) && interfaces.get(family) !== header) {
    throw new Error(`WGSL family '${family}': two different interface declarations`);
  }
  interfaces.set(family, header);
}

/**
 * The WGSL of a family with its `//#include NAME` lines replaced by shaders/NAME.wgsl (WGSL has no
 * includes; this keeps shared helpers such as the hyper-dual arithmetic in one file) and its `//#interface`
 * line by the uniform struct and bindings generated from the family's TypeScript declaration.
 */
export function shaderSource(family: string): string {
  const text = rawSource(family).replace(/^\/\/#include (\S+)\s*$/gm, (_, name: string) => rawSource(name));
  const header = interfaces.get(family);
  let spliced = 0;
  const out = text.replace(/^\/\/#interface\s*$/gm, () => {
    spliced++;
    if (header === undefined) {
      throw new Error(`WGSL family '${family}' says //#interface but no kernel declaration (defineKernels) is loaded`);
    }
    return header;
  });
  if (header !== undefined && spliced !== 1) {
    throw new Error(`WGSL family '${family}': needs exactly one //#interface line (found ${spliced})`);
  }
  return out;
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
