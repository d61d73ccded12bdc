// Shared helpers of the whole-network benchmark: the task description passed to engine processes,
// raw float32 files, timing statistics and the one-line result protocol.
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/** Analytic forward GFLOP (2 x MAC, convolutions only) per 1x4x128x160x112 patch, from the spec (§2.3). */
export const REFERENCE_GFLOP = { B: 365.3, M: 533.5 };
/** The patch the reference GFLOP figures are for. */
export const REFERENCE_PATCH = [128, 160, 112];

/** Prefix of the line an engine process prints its result on (stdout, last line). */
export const RESULT_TAG = 'BENCH_RESULT ';

/** Median of a list (upper middle for even lengths, as ../shared/research/ort-peer-bench.md does). */
export function median(values) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Reads a raw little-endian float32 file. */
export function readF32(file) {
  const buf = readFileSync(file);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** Writes a Float32Array as raw little-endian float32. */
export function writeF32(file, data) {
  writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** Peak resident set size of this process so far, in bytes (process.resourceUsage().maxRSS is in KiB). */
export function maxRssBytes() {
  return process.resourceUsage().maxRSS * 1024;
}

/** CPU seconds (user, system) used by this process so far. */
export function cpuSeconds() {
  const u = process.cpuUsage();
  return { user: u.user / 1e6, system: u.system / 1e6 };
}

/** 1-minute load average: with 2 cores, about 2 means only this job was running. */
export function load1() {
  return os.loadavg()[0];
}

/** Parses `--key value` / `--flag` arguments into an object (values stay strings, flags become true). */
export function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}' (options are --name value)`);
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[key] = true;
    else {
      out[key] = next;
      i++;
    }
  }
  return out;
}

/** Parses `DxHxW` into three positive multiples of 16. */
export function parseShape(text, flag) {
  const dims = String(text).split(/[x,]/).map(Number);
  if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d < 16 || d % 16 !== 0)) {
    throw new Error(`${flag} must be DxHxW with multiples of 16 (MedNeXt has 4 down/up levels), got '${text}'`);
  }
  return dims;
}

/** Reads the task description an engine process gets as its only argument (a JSON file). */
export function readTask() {
  const file = process.argv[2];
  if (!file) throw new Error('engine: expected the task JSON file as the first argument');
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Prints an engine's result for the parent to pick up. */
export function emitResult(result) {
  process.stdout.write(`\n${RESULT_TAG}${JSON.stringify(result)}\n`);
}

/** Times `fn` (which may be async) in seconds. */
export async function timeIt(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { seconds: (performance.now() - t0) / 1e3, value };
}

/** Max |a−b| and the share of voxels whose arg-max over channels agrees (NCDHW, batch 1). */
export function compareOutputs(a, b, channels) {
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  const v = a.length / channels;
  let agree = 0;
  for (let j = 0; j < v; j++) {
    let ia = 0;
    let ib = 0;
    for (let c = 1; c < channels; c++) {
      if (a[c * v + j] > a[ia * v + j]) ia = c;
      if (b[c * v + j] > b[ib * v + j]) ib = c;
    }
    if (ia === ib) agree++;
  }
  return { maxAbs, maxRef, argmaxAgree: agree / v };
}
