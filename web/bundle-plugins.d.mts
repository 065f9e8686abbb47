// Types for web/bundle-plugins.mjs (plain Node ESM).
import type { Plugin } from 'esbuild';
export declare const ROOT: string;
export declare const NODE_ONLY_MODULES: string[];
export declare function wgslSources(): Record<string, string>;
export declare const shadersPlugin: Plugin;
export declare const nodeGuardPlugin: Plugin;
