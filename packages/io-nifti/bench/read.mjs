// Benchmark: median time to read the BraTS-size fixture (240x240x155 int16, 2.6 MB gzipped) with
// @mednext-ts/io-nifti/node, and, in the same run, Debian's nibabel when `/usr/bin/python3 -c "import nibabel"`
// works. Usage: node bench/read.mjs [file] [runs]   (run `npx tsc -b` first; imports from dist/).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { readNifti } from '../dist/node/index.js';

const file =
  process.argv[2] ?? new URL('../../../../shared/fixtures/nifti/brats_size_int16.nii.gz', import.meta.url).pathname;
const runs = Number(process.argv[3] ?? 15);
if (!existsSync(file)) {
  console.error(`bench/read.mjs: ${file} not found (pass the path of brats_size_int16.nii.gz)`);
  process.exit(1);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function time(fn) {
  for (let i = 0; i < 2; i++) await fn(); // warm-up (JIT, page cache)
  const ts = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

const readMs = await time(() => readNifti(file));
const readCOrderMs = await time(async () => (await readNifti(file)).toCOrder('float32'));
const img = await readNifti(file);
console.log(
  `io-nifti bench: ${file.split('/').pop()} [${img.shape.join('x')}] ${img.datatype.name}, ${runs} runs, node ${process.version}, ${os.availableParallelism()} cores`,
);
console.log(`  readNifti (raw ${img.datatype.name} view):        median ${readMs.toFixed(1)} ms`);
console.log(`  readNifti + toCOrder('float32'):   median ${readCOrderMs.toFixed(1)} ms`);

const PY = `
import sys, time, statistics, numpy as np, nibabel as nib
f, runs = sys.argv[1], int(sys.argv[2])
def t(fn):
    for _ in range(2): fn()
    xs = []
    for _ in range(runs):
        t0 = time.perf_counter(); fn(); xs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(xs)
raw = t(lambda: np.asanyarray(nib.load(f).dataobj))
fdata = t(lambda: nib.load(f).get_fdata(dtype=np.float32))
print(nib.__version__, raw, fdata)
`;
let nib = null;
try {
  execFileSync('/usr/bin/python3', ['-c', 'import nibabel'], { stdio: 'ignore' });
  const [version, raw, fdata] = execFileSync('/usr/bin/python3', ['-c', PY, file, String(runs)], { encoding: 'utf8' })
    .trim()
    .split(' ');
  nib = { version, raw: Number(raw), fdata: Number(fdata) };
} catch {
  console.log('  nibabel: not available (/usr/bin/python3 -c "import nibabel" failed); comparison skipped');
}
if (nib) {
  console.log(
    `  nibabel ${nib.version} np.asanyarray(dataobj):    median ${nib.raw.toFixed(1)} ms  -> io-nifti is ${(nib.raw / readMs).toFixed(2)}x faster`,
  );
  console.log(
    `  nibabel get_fdata(float32):        median ${nib.fdata.toFixed(1)} ms  -> io-nifti (+toCOrder) is ${(nib.fdata / readCOrderMs).toFixed(2)}x faster`,
  );
}
console.log(`  goal < 150 ms: ${readMs < 150 ? 'met' : 'NOT met'}`);
