// Types for web/serve.mjs.
export declare const DIST: string;
export interface StaticServer {
  /** http://127.0.0.1:PORT/ */
  url: string;
  close(): Promise<void>;
}
export declare function serve(opts?: { root?: string; port?: number }): Promise<StaticServer>;
