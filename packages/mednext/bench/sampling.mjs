// Time to cut and augment one training patch from a BraTS-sized case (4 x 140x170x140 after
// cropping, the recipe's 128x160x112 patch), per augmentation preset. This is the CPU work a
// sampling worker does per sample. Usage: node bench/sampling.mjs [repeats=5]
import { Random } from '@mednext-ts/tensor3d';
import { AUGMENTATION_PRESETS, foregroundIndex, samplePatch } from '@mednext-ts/mednext';

const repeats = Number(process.argv[2] ?? 5);
const shape = [140, 170, 140];
const n = shape[0] * shape[1] * shape[2];
const rng = new Random(1);
const image = new Float32Array(4 * n);
for (let i = 0; i < image.length; i++) image[i] = rng.normal();
const labels = new Uint8Array(n);
for (let x = 50; x < 80; x++)
  for (let y = 60; y < 100; y++) for (let z = 50; z < 80; z++) labels[(x * 170 + y) * 140 + z] = 1 + ((x + y + z) % 3);
const c = {
  id: 'bench',
  source: 'bench',
  image: { data: image, shape: [4, ...shape] },
  labels: { data: labels, shape },
};
const fg = foregroundIndex(c.labels);
const regions = [
  { name: 'WT', labels: [1, 2, 3], threshold: 0.5, minSize: 0 },
  { name: 'TC', labels: [1, 3], threshold: 0.5, minSize: 0 },
  { name: 'ET', labels: [3], threshold: 0.5, minSize: 0 },
];
for (const [name, augmentation] of Object.entries(AUGMENTATION_PRESETS)) {
  const r = new Random(2);
  const times = [];
  for (let k = 0; k < repeats; k++) {
    const t0 = performance.now();
    samplePatch(c, fg, r, { patchSize: [128, 160, 112], regions, forceForeground: k % 3 === 0, augmentation });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(8)} median ${(times[times.length >> 1] / 1000).toFixed(2)} s per sample, max ${(times[times.length - 1] / 1000).toFixed(2)} s`,
  );
}
console.log('(no reference implementation to compare with: nnU-Net batchgenerators timing is not available offline)');
