// The same reconstruction in a browser page: bundle this module (esbuild, Vite, webpack — the package's
// `browser` export condition gives them a build with every WGSL shader inlined and no Node code), serve it
// with fmnist-unet.safetensors (copy it from the package's models/) and a page holding
//   <input type="file" id="image" accept="image/*"> <canvas id="result"></canvas> <p id="status"></p>
//
//   npx esbuild browser.mjs --bundle --format=esm --outfile=bundle.js
import { Engine, createOperator, fitImage, loadModel, measure, psnr, rgbaToImage, sample } from 'webgpu-dps';

const status = document.getElementById('status');
const engine = await Engine.create(); // navigator.gpu
const model = await loadModel(engine, new URL('fmnist-unet.safetensors', document.baseURI));
const [C, S] = [model.imageShape[0], model.imageShape[1]];

/** Any picture (PNG, JPEG …, any size, colour or gray) → [C, S, S] in [−1, 1], as the CLI reads a PNG. */
async function toModelImage(file) {
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext('2d');
  g.drawImage(bitmap, 0, 0);
  const { data } = g.getImageData(0, 0, bitmap.width, bitmap.height);
  return fitImage(rgbaToImage(data, bitmap.width, bitmap.height, C), [C, bitmap.height, bitmap.width], S).data;
}

function show(canvas, x) {
  const rgba = new Uint8ClampedArray(4 * S * S);
  for (let i = 0; i < S * S; i++) {
    for (let c = 0; c < 3; c++)
      rgba[4 * i + c] = Math.round((Math.max(-1, Math.min(1, x[(C === 3 ? c : 0) * S * S + i])) + 1) * 127.5);
    rgba[4 * i + 3] = 255;
  }
  canvas.width = canvas.height = S;
  canvas.getContext('2d').putImageData(new ImageData(rgba, S, S), 0, 0);
}

document.getElementById('image').addEventListener('change', async (ev) => {
  const truth = await toModelImage(ev.target.files[0]);
  const x = engine.upload(truth, [1, C, S, S]);
  const operator = createOperator('sr4', {}, engine, [1, C, S, S]); // ×4 super-resolution
  const noise = { kind: 'gaussian', level: 0.05 };
  const { y } = measure(engine, operator, x, noise, 0);
  const result = await sample({
    model,
    operator,
    noise,
    y,
    method: 'ddrm',
    steps: 20,
    onStep: (s) => void (status.textContent = `step ${s.i + 1}/${s.steps}`),
  });
  const x0 = await engine.read(result.x0);
  show(document.getElementById('result'), x0);
  status.textContent = `PSNR ${psnr(x0, truth).toFixed(2)} dB`;
  engine.release(x, y, result.x0);
  operator.destroy();
});
