// Inputs of the whole-network benchmark, identical for every engine: seeded random weights (PyTorch's
// default initialisation, from the model's own parameter list), a seeded N(0,1) input and a binary target,
// and the analytic FLOP count of a forward pass (spec §2.3: convolutions only, multiply-add = 2 FLOP).
import { buildArchitecture, parameterSpecs, presetConfig, resolveConfig } from '../dist/index.js';

/** mulberry32: a small, fast, seedable 32-bit PRNG (uniform in [0, 1)). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded standard-normal Float32Array (Box-Muller). */
export function normal(count, seed) {
  const u = rng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const phi = 2 * Math.PI * u();
    out[i] = r * Math.cos(phi);
    if (i + 1 < count) out[i + 1] = r * Math.sin(phi);
  }
  return out;
}

/** The benchmark's MedNeXt config: a published preset, k3, 4 in, 3 out. */
export function benchConfig(preset, deepSupervision) {
  return presetConfig(preset, { kernelSize: 3, inChannels: 4, nClasses: 3, deepSupervision });
}

/** Seeded weights in PyTorch's default initialisation, as a state dict (official names and layouts). */
export function seededWeights(config, seed) {
  const u = rng(seed);
  const sd = new Map();
  for (const spec of parameterSpecs(buildArchitecture(resolveConfig(config)))) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (spec.init.kind === 'ones') data.fill(1);
    else if (spec.init.kind === 'uniform') {
      const bound = 1 / Math.sqrt(spec.init.fanIn);
      for (let i = 0; i < n; i++) data[i] = (2 * u() - 1) * bound;
    }
    sd.set(spec.name, { shape: spec.shape, data });
  }
  return sd;
}

/** Analytic forward multiply-adds of a config at spatial size [D, H, W] (batch 1), with or without DS heads. */
export function forwardMacs(config, spatial, deepSupervision = false) {
  const arch = buildArchitecture(resolveConfig(config));
  const vox = (s) => s[0] * s[1] * s[2];
  let size = [...spatial];
  const { inChannels, nChannels, nClasses } = arch.config;
  let macs = vox(size) * inChannels * nChannels; // stem
  const block = (b) => {
    const e = b.expR * b.cIn;
    const k3 = b.kernel ** 3;
    if (b.kind === 'block') return vox(size) * (k3 * b.cIn + b.cIn * e + e * b.cOut);
    if (b.kind === 'down') {
      size = size.map((n) => Math.ceil(n / 2));
      return vox(size) * (k3 * b.cIn + b.cIn * e + e * b.cOut + (b.residual ? b.cIn * b.cOut : 0));
    }
    // up: transposed depthwise and residual counted on input voxels; the pointwise convs run on (2n-1)^3.
    const vin = vox(size);
    const grown = size.map((n) => 2 * n - 1);
    size = size.map((n) => 2 * n);
    return vin * (k3 * b.cIn + (b.residual ? b.cIn * b.cOut : 0)) + vox(grown) * (b.cIn * e + e * b.cOut);
  };
  for (let j = 0; j < 4; j++) {
    for (const b of arch.encoders[j]) macs += block(b);
    macs += block(arch.downs[j]);
  }
  for (const b of arch.bottleneck) macs += block(b);
  if (deepSupervision) macs += vox(size) * nChannels * 16 * nClasses;
  for (let i = 0; i < 4; i++) {
    macs += block(arch.ups[i]);
    for (const b of arch.decoders[i]) macs += block(b);
    if (deepSupervision && i < 3) macs += vox(size) * nChannels * 2 ** (3 - i) * nClasses;
  }
  return macs + vox(size) * nChannels * nClasses; // out_0
}
