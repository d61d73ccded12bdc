// Inference bench: the model-independent parts of `mednext predict` on a full-size BraTS grid
// (window extraction/blending, postprocessing, crop undo, peak memory), then the shipped demo
// model end to end on a demo phantom. There is no Python reference for these parts in the
// repository, so no ratio is printed. Run: npm run bench:inference (after npx tsc -b).
import { setInterval, clearInterval } from 'node:timers';
import { selectBackend } from '@mednext-ts/tensor3d';
import { ssaTask } from '@mednext-ts/plugin-ssa';
import { generatePhantom, probabilitiesToLabels, resolvePostprocess, segmentCase } from '@mednext-ts/mednext';
import { loadInferenceModel, readDemoModelInfo } from '@mednext-ts/mednext/node';

// The SSA task, with minimum component sizes so that the postprocessing step does real work.
const MIN_SIZES = { WT: 250, TC: 75, ET: 50 };
const task = { ...ssaTask, regions: ssaTask.regions.map((r) => ({ ...r, minSize: MIN_SIZES[r.name] })) };

let peak = 0;
const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
const timer = setInterval(sample, 10);

// 1. A 240x240x155 case whose brain fills a 140x170x130 box; a "model" that copies a sigmoid of channel 0.
const [nx, ny, nz] = [240, 240, 155];
const n = nx * ny * nz;
const image = new Float32Array(4 * n);
for (let c = 0; c < 4; c++)
  for (let x = 50; x < 190; x++)
    for (let y = 35; y < 205; y++)
      for (let z = 10; z < 140; z++) image[c * n + (x * ny + y) * nz + z] = 1 + ((x * 7 + y * 3 + z + c) % 11);
const patch = [128, 160, 112];
const v = patch[0] * patch[1] * patch[2];
let windows = 0;
let modelMs = 0;
const predictor = (p, count) => {
  const t = performance.now();
  windows += count;
  const o = new Float32Array(count * 3 * v);
  for (let b = 0; b < count; b++)
    for (let i = 0; i < v; i++) {
      const s = 1 / (1 + Math.exp(-p[b * 4 * v + i]));
      o[b * 3 * v + i] = s;
      o[(b * 3 + 1) * v + i] = s * 0.9;
      o[(b * 3 + 2) * v + i] = s * 0.8;
    }
  modelMs += performance.now() - t;
  return o;
};
const before = process.memoryUsage().rss;
let t = performance.now();
const result = await segmentCase(
  { id: 'bench', image: { data: image, shape: [4, nx, ny, nz] }, modalities: task.modalities },
  task,
  [{ name: 'dummy', predictor, patchSize: patch, inChannels: 4, outChannels: 3 }],
  resolvePostprocess(task),
  { overlap: 0.5 },
);
const total = performance.now() - t;
sample();
console.log(`240x240x155 case, patch 128x160x112, overlap 0.5: ${windows} windows`);
console.log(
  `  pipeline without the network: ${((total - modelMs) / 1000).toFixed(2)} s (preprocess, windows, blending, postprocess, uncrop)`,
);
console.log(
  `  peak RSS ${(peak / 2 ** 20).toFixed(0)} MB (${((peak - before) / 2 ** 20).toFixed(0)} MB above the input already in memory)`,
);
t = performance.now();
probabilitiesToLabels(result.probabilities, task, resolvePostprocess(task));
console.log(
  `  postprocessing alone (thresholds, 26-connected min sizes, labels) on the full grid: ${((performance.now() - t) / 1000).toFixed(2)} s`,
);

// 2. The shipped demo model on a demo phantom.
const backend = await selectBackend('auto');
const info = await readDemoModelInfo();
const model = await loadInferenceModel(info.weightsPath);
const phantom = generatePhantom({ seed: 424242, shape: info.phantom.shape, spacing: info.phantom.spacing });
const stacked = new Float32Array(4 * phantom.label.data.length);
phantom.images.forEach((img, c) => stacked.set(img.data, c * img.data.length));
for (const tta of [false, true]) {
  t = performance.now();
  await segmentCase(
    { id: phantom.id, image: { data: stacked, shape: [4, ...phantom.label.shape] }, modalities: task.modalities },
    task,
    [model],
    resolvePostprocess(task),
    { tta },
  );
  console.log(
    `demo model (${backend.backend}) on a ${phantom.label.shape.join('x')} phantom${tta ? ' with 8-flip TTA' : ''}: ${((performance.now() - t) / 1000).toFixed(2)} s`,
  );
}
console.log('reference: none in the repository for these parts (no ratio)');
clearInterval(timer);
