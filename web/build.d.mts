// Types for web/build.mjs (plain Node ESM, so it runs without a TypeScript loader).
export declare const OUT_DIR: string;
export declare const DEFAULT_MODEL: string;
export interface WebBuild {
  outDir: string;
  bundleBytes: number;
  /** every source module esbuild put into main.js (paths relative to the repository root) */
  inputs: string[];
  images: number;
  ms: number;
  warnings: unknown[];
}
export declare function buildWeb(opts?: { outDir?: string; minify?: boolean; quiet?: boolean }): Promise<WebBuild>;
