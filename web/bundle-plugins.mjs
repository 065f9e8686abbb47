// esbuild plugins shared by the two browser bundles: the page (web/build.mjs) and the library's browser
// build (scripts/build.mjs, the package's `browser` export).
//
// - WGSL inlined: on Node, src/engine/shaders.ts reads shaders/<family>.wgsl from disk on first use; a
//   bundle imports `virtual:shaders`, a generated module that registers every shaders/*.wgsl up front.
// - Node-only code replaced: the npm packages `webgpu` (Dawn) and `pngjs`, and the library modules listed in
//   NODE_ONLY_MODULES, become stubs whose exports throw "… is Node-only" when called. Any Node built-in
//   that still reaches the bundle fails the build, naming the importing file.
import { builtinModules } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SHADER_DIR = join(ROOT, 'shaders');
const SHADERS_MODULE = join(ROOT, 'src/engine/shaders.ts');

/** Every shaders/*.wgsl as { family: source }. */
export function wgslSources() {
  const files = readdirSync(SHADER_DIR)
    .filter((f) => f.endsWith('.wgsl'))
    .sort();
  return Object.fromEntries(files.map((f) => [f.slice(0, -5), readFileSync(join(SHADER_DIR, f), 'utf8')]));
}

/** `import 'virtual:shaders'` → registerShaderSources({ family: wgsl, ... }) for every shaders/*.wgsl. */
export const shadersPlugin = {
  name: 'inline-wgsl',
  setup(b) {
    b.onResolve({ filter: /^virtual:shaders$/ }, () => ({ path: 'shaders', namespace: 'virtual-shaders' }));
    b.onLoad({ filter: /.*/, namespace: 'virtual-shaders' }, () => {
      const map = wgslSources();
      return {
        contents: `import { registerShaderSources } from ${JSON.stringify(SHADERS_MODULE)};\nregisterShaderSources(${JSON.stringify(map)});\nexport const families = ${JSON.stringify(Object.keys(map))};\n`,
        loader: 'js',
        resolveDir: ROOT,
        watchFiles: Object.keys(map).map((f) => join(SHADER_DIR, `${f}.wgsl`)),
      };
    });
  },
};

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Node-only npm packages and what the browser has instead. */
const NODE_PACKAGES = {
  // src/engine/device.ts imports it only when there is no navigator.gpu
  webgpu: `export const globals = {}; export function create() { throw new Error("the npm 'webgpu' package (Dawn) is Node-only; a browser must provide navigator.gpu"); }`,
  // PNG files on Node (src/io/png.ts, src/operators/masks.ts maskFromPng); in a browser decode PNGs with
  // createImageBitmap and convert the pixels with rgbaToImage
  pngjs: `const nodeOnly = () => { throw new Error("PNG encoding/decoding (pngjs) is Node-only: in a browser decode with createImageBitmap and convert with rgbaToImage"); }; export const PNG = { sync: { read: nodeOnly, write: nodeOnly } };`,
};

/** Library modules that need Node (file system, zlib); a browser bundle gets throwing stubs. */
export const NODE_ONLY_MODULES = ['src/convert.ts', 'src/engine/safetensors-node.ts', 'src/io/png.ts'];

/** The names a module exports (`export function|class|const|let NAME`), for a stub with the same surface. */
function exportedNames(file) {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/^export\s+(?:async\s+)?(?:function\*?|class|const|let)\s+([A-Za-z_$][\w$]*)/gm)].map(
    (m) => m[1],
  );
}

/** Keep Node out of a browser bundle: stub Node-only packages and modules, refuse Node built-ins. */
export const nodeGuardPlugin = {
  name: 'node-guard',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${Object.keys(NODE_PACKAGES).join('|')})$`) }, (args) => ({
      path: args.path,
      namespace: 'node-stub',
    }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, (args) => ({
      contents: NODE_PACKAGES[args.path],
      loader: 'js',
    }));
    const stubbed = new Set(NODE_ONLY_MODULES.map((m) => join(ROOT, m)));
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!stubbed.has(args.path)) return undefined;
      const who = relative(ROOT, args.path);
      const body = exportedNames(args.path)
        .map((n) => `export function ${n}() { throw new Error(${JSON.stringify(`${n} (${who}) is Node-only`)}); }`)
        .join('\n');
      return { contents: body, loader: 'js' };
    });
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (!NODE_BUILTINS.has(args.path)) return undefined;
      const who = args.importer ? relative(ROOT, args.importer) : '(entry)';
      return {
        errors: [
          {
            text: `browser bundle: '${args.path}' is a Node built-in, imported by ${who} — keep Node-only modules out of the browser's import graph (or list them in NODE_ONLY_MODULES)`,
          },
        ],
      };
    });
  },
};
