// The dependency rules of the source layout, checked from the import graph (`npm run check:layout`):
//   src/engine     imports nothing of ours
//   src/unet       the engine only            src/operators   the engine only
//   src/io         the engine only            src/samplers    engine, operators (models only through the
//                                                             ScoreModel interface: never src/unet)
//   src/lab        engine, operators, samplers, io (the validation lab sits above the samplers)
//   src/cli, web/, tools/, bench/   on top: anything; nothing below src/cli imports them.
// Every relative import (static, `export … from`, dynamic `import()`) of every .ts/.mjs file is checked.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** what each layer of src/ may import besides itself */
export const ALLOWED: Record<string, readonly string[]> = {
  engine: [],
  unet: ['engine'],
  operators: ['engine'],
  io: ['engine'],
  samplers: ['engine', 'operators'],
  lab: ['engine', 'operators', 'samplers', 'io'],
  cli: ['engine', 'unet', 'operators', 'io', 'samplers', 'lab'],
};
const TOP = ['web', 'tools', 'bench'];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;

/** The layer of a path relative to the root: 'engine', 'lab', …, 'top', or null (not checked). */
function layerOf(rel: string): string | null {
  const [a, b] = rel.split(sep);
  if (a === 'src') return b in ALLOWED ? b : `src/${b}`;
  return TOP.includes(a) ? 'top' : null;
}

/** Violations of the layout rules under `root`, one line each (`file: imports path (rule)`). */
export function checkLayout(root: string): string[] {
  const problems: string[] = [];
  const dirs = ['src', ...TOP].map((d) => join(root, d)).filter((d) => statSync(d, { throwIfNoEntry: false }));
  for (const file of dirs.flatMap((d) => sources(d))) {
    const rel = relative(root, file);
    const from = layerOf(rel);
    if (!from) continue;
    if (from.startsWith('src/')) {
      problems.push(`${rel}: src/${from.slice(4)} is not a known layer (add it to tools/check-layout.ts)`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec.startsWith('.')) continue;
      const target = relative(root, resolve(dirname(file), spec));
      const to = layerOf(target);
      if (from === 'top' || to === from || (from === 'cli' && to === 'top')) continue;
      if (to === 'top' || to === null) problems.push(`${rel}: imports ${spec} (only src/cli may import outside src/)`);
      else if (!ALLOWED[from].includes(to!)) {
        const may = ALLOWED[from].length ? ALLOWED[from].join(', ') : 'nothing of ours';
        problems.push(`${rel}: imports ${spec} (src/${from} may import ${may})`);
      }
    }
  }
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const problems = checkLayout(root);
  if (problems.length) {
    console.error(`layout: ${problems.length} import(s) break the dependency rules:\n${problems.join('\n')}`);
    process.exit(1);
  }
  console.log('layout: every import follows the dependency rules (tools/check-layout.ts)');
}
