// Reconstruct an image from a box-inpainting measurement with the embedded Fashion-MNIST prior.
//
//   node reconstruct.mjs [image.png] [steps] [method]     (defaults: ankle-boot.png beside this file, 20, ddrm)
//
// Writes measurement.png (the observed pixels; the hole reads 0, mid-gray) and result.png to the working directory.
import { readFileSync, writeFileSync } from 'node:fs';
import { Engine, createOperator, decodePng, encodePng, fitImage, loadModel, measure, psnr, sample } from 'webgpu-dps';

const [imagePath = new URL('./ankle-boot.png', import.meta.url), steps = '20', method = 'ddrm'] = process.argv.slice(2);

const engine = await Engine.create(); // Dawn on Node (the optional dependency `webgpu`), navigator.gpu in a browser
const model = await loadModel(engine); // no argument: the embedded prior; or bytes, a file path, a URL
const [C, S] = [model.imageShape[0], model.imageShape[1]];

// PNG → [1, C, S, S] in [−1, 1] (gray as BT.601 luma; another size is centre-cropped and resized)
const png = decodePng(readFileSync(imagePath), { channels: C });
const truth = fitImage(png.data, [C, png.shape[2], png.shape[3]], S);
const x = engine.upload(truth.data, [1, C, S, S], 'truth');

// y = A(x) + n: a 16×16 hole at a seeded random position, Gaussian noise σ_y = 0.05
const operator = createOperator('inpaint-box', { seed: 1 }, engine, [1, C, S, S]);
const noise = { kind: 'gaussian', level: 0.05 };
const { y } = measure(engine, operator, x, noise, 1);

const t0 = performance.now();
const result = await sample({ model, operator, noise, y, method, steps: Number(steps), seed: 1 });
const x0 = await engine.read(result.x0);
const seconds = (performance.now() - t0) / 1000;

writeFileSync('measurement.png', encodePng(await engine.read(y), [C, S, S]));
writeFileSync('result.png', encodePng(x0, [C, S, S]));
console.log(
  `${method}, ${steps} steps, ${seconds.toFixed(1)} s: PSNR ${psnr(x0, truth.data).toFixed(2)} dB → result.png`,
);
engine.destroy();
