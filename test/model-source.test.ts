// loadModel's sources (src/io/model-source.ts): bytes, a path, a file: URL and an http: URL give the same
// model; a missing file and an HTTP error are clear errors naming the source.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { EMBEDDED_MODEL_URL, loadModel, readSource } from '../src/io/model-source.js';
import { getTestEngine } from './helpers.js';

const MODEL = fileURLToPath(EMBEDDED_MODEL_URL);

describe('loadModel sources', () => {
  let e: Engine;
  let url: string;
  let close: () => void;
  beforeAll(async () => {
    e = await getTestEngine();
    const bytes = readFileSync(MODEL);
    const server = createServer((req, res) => {
      if (req.url === '/m.safetensors') res.writeHead(200).end(bytes);
      else res.writeHead(404, 'Not Found').end();
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => close?.());

  it('reads the same bytes from a Uint8Array, a path, a file: URL and an http: URL', async () => {
    const want = new Uint8Array(readFileSync(MODEL));
    for (const src of [
      want,
      want.buffer,
      MODEL,
      pathToFileURL(MODEL),
      pathToFileURL(MODEL).href,
      `${url}/m.safetensors`,
    ]) {
      const { bytes } = await readSource(src as Uint8Array);
      expect(bytes.length).toBe(want.length);
      expect(Buffer.compare(Buffer.from(bytes), Buffer.from(want))).toBe(0);
    }
    // and the default is the embedded prior
    const m = await loadModel(e);
    expect(m.imageShape).toEqual([1, 32, 32]);
    expect((await loadModel(e, `${url}/m.safetensors`)).config).toEqual(m.config);
  });

  it('names the source in its errors', async () => {
    await expect(readSource('/no/such/model.safetensors')).rejects.toThrow(
      '/no/such/model.safetensors: cannot read (ENOENT)',
    );
    await expect(readSource(`${url}/missing.safetensors`)).rejects.toThrow(
      `${url}/missing.safetensors: HTTP 404 Not Found`,
    );
    await expect(loadModel(e, new Uint8Array([1, 2, 3]))).rejects.toThrow(/^model bytes: /);
  });
});
