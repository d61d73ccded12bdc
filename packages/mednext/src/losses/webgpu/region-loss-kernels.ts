/// <reference types="@webgpu/types" />
/**
 * WGSL kernels of the region losses (batch or per-sample soft Dice + focal or BCE, on sigmoid
 * logits) and their gradient with respect to the logits. Four passes per deep-supervision output:
 *
 * 1. `region_loss_partials`: one workgroup per (chunk of voxels, sample, channel) sums
 *    p·y, p, y and the element loss over its chunk (tree reduction in workgroup memory);
 * 2. `region_loss_reduce`: one workgroup per (sample, channel) adds the chunk partials, in a fixed
 *    order (so the result is deterministic);
 * 3. `region_loss_combine`: one invocation turns the sums into this output's loss term, the
 *    running deep-supervision total and the per-(sample, channel) Dice gradient coefficients;
 * 4. `region_loss_gradient`: element-wise `∂loss/∂logit`.
 *
 * The formulas are those of `../region-losses.ts` (the tfjs reference).
 */
import {
  defineKernel,
  elementwiseMain,
  ELEMENTWISE_WORKGROUP_SIZE,
  wgslWorkgroupSum,
} from '@mednext-ts/tensor3d/webgpu';

/** Threads per workgroup of the reductions (within compatibility mode's limit of 128). */
export const REDUCE_WORKGROUP_SIZE = 64;

/** WGSL statements storing the four components of the vec4f `value` at `buffer[offset ..= offset + 3]`. */
function storeVec4(buffer: string, offset: string, value: string): string {
  return ['x', 'y', 'z', 'w']
    .map((f, k) => `${buffer}[${offset}${k ? ` + ${k}u` : ''}] = ${value}.${f};`)
    .join('\n    ');
}

/** Element math shared by the partials and the gradient kernels; both declare the uniforms it reads (ELEMENT_PARAMS). */
const ELEMENT_WGSL = `
fn elementIndex(n: u32, v: u32, c: u32) -> u32 {
  if (params.channelsLast != 0u) { return (n * params.voxels + v) * params.channels + c; }
  return (n * params.channels + c) * params.voxels + v;
}
fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
// log(1 + u) for u in (0, 1] without losing the small-u digits (WGSL has no log1p).
fn log1pAccurate(u: f32) -> f32 {
  let w = 1.0 + u;
  if (w == 1.0) { return u; }
  return log(w) * (u / (w - 1.0));
}
// Numerically stable BCE with logits: max(x, 0) − x·y + log(1 + e^−|x|).
fn bce(x: f32, y: f32) -> f32 { return max(x, 0.0) - x * y + log1pAccurate(exp(-abs(x))); }
// q^e for q ≥ 0 (rounding can leave 1 − p_t a hair below 0), exact for the usual e = 0, 1, 2.
fn powNonNegative(q: f32, e: f32) -> f32 {
  if (e == 0.0) { return 1.0; }
  if (e == 1.0) { return q; }
  if (e == 2.0) { return q * q; }
  if (q <= 0.0) { return 0.0; }
  return pow(q, e);
}
fn alphaWeight(y: f32) -> f32 {
  if (params.useAlpha != 0u) { return y * params.alphaPositive + params.alphaNegative; }
  return 1.0;
}
// Focal term (1 − p_t)^gamma · BCE (· alpha weight), or plain BCE.
fn elementLoss(x: f32, y: f32, p: f32) -> f32 {
  if (params.focal == 0u) { return bce(x, y); }
  let q = p + y - p * y * 2.0;
  return powNonNegative(q, params.gamma) * bce(x, y) * alphaWeight(y);
}
// d elementLoss / dx; dBCE/dx = p − y (also tfjs's subgradient at x = 0), dq/dx = (1 − 2y)·p(1 − p).
fn elementGradient(x: f32, y: f32, p: f32) -> f32 {
  if (params.focal == 0u) { return p - y; }
  let q = p + y - p * y * 2.0;
  let dq = (1.0 - 2.0 * y) * p * (1.0 - p);
  return alphaWeight(y) * (params.gamma * powNonNegative(q, params.gamma - 1.0) * dq * bce(x, y)
    + powNonNegative(q, params.gamma) * (p - y));
}`;

/** The uniforms {@link ELEMENT_WGSL} reads, declared by both kernels that include it. */
const ELEMENT_PARAMS = {
  channelsLast: { type: 'u32', doc: '1: [N, V, C] (NDHWC), 0: [N, C, V] (NCDHW)' },
  voxels: { type: 'u32', doc: 'V, spatial voxels per sample' },
  channels: { type: 'u32', doc: 'C' },
  focal: { type: 'u32', doc: '1: focal element loss, 0: BCE' },
  gamma: { type: 'f32', doc: 'focal exponent' },
  useAlpha: { type: 'u32', doc: '1: weight positives by alpha, negatives by 1 − alpha' },
  alphaPositive: { type: 'f32', doc: '2·alpha − 1' },
  alphaNegative: { type: 'f32', doc: '1 − alpha' },
} as const;

/** Pass 1: per-chunk sums of p·y, p, y and the element loss. */
export const REGION_LOSS_PARTIALS_KERNEL = defineKernel({
  name: 'region_loss_partials',
  params: {
    ...ELEMENT_PARAMS,
    chunks: { type: 'u32', doc: 'chunks per (sample, channel) = workgroups along x' },
    chunkVoxels: { type: 'u32', doc: 'voxels per chunk' },
  },
  workgroupSize: REDUCE_WORKGROUP_SIZE,
  bindings: () => [
    { name: 'logits', access: 'read', doc: 'the network output of this scale, [N, V, C] or [N, C, V]' },
    { name: 'targets', access: 'read', doc: 'binary (or soft) targets, same layout' },
    { name: 'partials', access: 'read_write', doc: '[N·C, chunks, 4]: Σp·y, Σp, Σy, Σ element loss' },
  ],
  body: () => `${ELEMENT_WGSL}
var<workgroup> sums: array<vec4f, ${REDUCE_WORKGROUP_SIZE}>;
// One workgroup per (chunk, sample·channel): group = nc · chunks + chunk.
fn main(group: u32, local: u32) {
  // A dispatch folded into 2-D may have a few workgroups past the end.
  if (group >= arrayLength(&partials) / 4u) { return; }
  let nc = group / params.chunks;
  let chunk = group % params.chunks;
  let n = nc / params.channels;
  let c = nc % params.channels;
  let start = chunk * params.chunkVoxels;
  let end = min(start + params.chunkVoxels, params.voxels);
  var acc = vec4f(0.0);
  for (var v = start + local; v < end; v += ${REDUCE_WORKGROUP_SIZE}u) {
    let i = elementIndex(n, v, c);
    let x = logits[i];
    let y = targets[i];
    let p = sigmoid(x);
    acc += vec4f(p * y, p, y, elementLoss(x, y, p));
  }
  ${wgslWorkgroupSum('sums', 'acc', REDUCE_WORKGROUP_SIZE)}
  if (local == 0u) {
    let o = (nc * params.chunks + chunk) * 4u;
    ${storeVec4('partials', 'o', 'sums[0]')}
  }
}`,
});

/** Pass 2: the chunk partials of each (sample, channel) added up. */
export const REGION_LOSS_REDUCE_KERNEL = defineKernel({
  name: 'region_loss_reduce',
  params: {
    chunks: { type: 'u32', doc: 'chunks per (sample, channel)' },
  },
  workgroupSize: REDUCE_WORKGROUP_SIZE,
  bindings: () => [
    { name: 'partials', access: 'read', doc: '[N·C, chunks, 4] from pass 1' },
    { name: 'sums', access: 'read_write', doc: '[N·C, 4]: Σp·y, Σp, Σy, Σ element loss' },
  ],
  body: () => `
var<workgroup> acc: array<vec4f, ${REDUCE_WORKGROUP_SIZE}>;
fn main(group: u32, local: u32) {
  if (group >= arrayLength(&sums) / 4u) { return; }
  let nc = group;
  var a = vec4f(0.0);
  for (var k = local; k < params.chunks; k += ${REDUCE_WORKGROUP_SIZE}u) {
    let o = (nc * params.chunks + k) * 4u;
    a += vec4f(partials[o], partials[o + 1u], partials[o + 2u], partials[o + 3u]);
  }
  ${wgslWorkgroupSum('acc', 'a', REDUCE_WORKGROUP_SIZE)}
  if (local == 0u) {
    ${storeVec4('sums', 'nc * 4u', 'acc[0]')}
  }
}`,
});

/** Pass 3: this output's loss term, the deep-supervision total, and the Dice gradient coefficients. */
export const REGION_LOSS_COMBINE_KERNEL = defineKernel({
  name: 'region_loss_combine',
  params: {
    samples: { type: 'u32', doc: 'N' },
    channels: { type: 'u32', doc: 'C' },
    batchDice: { type: 'u32', doc: '1: one Dice per channel over batch and space, 0: one per (sample, channel)' },
    diceSmooth: { type: 'f32', doc: 'added to the Dice numerator and denominator' },
    diceOffset: { type: 'f32', doc: 'constant added to −mean Dice: 1 for (1 − Dice) + focal, 0 for BCE − Dice' },
    inverseElements: { type: 'f32', doc: '1 / (N·V·C), the mean of the element loss' },
    weight: { type: 'f32', doc: 'deep-supervision weight of this output' },
    output: { type: 'u32', doc: 'index of this output in losses' },
    total: { type: 'u32', doc: 'index of the total in losses (the number of outputs)' },
    first: { type: 'u32', doc: '1 for the first output with a non-zero weight: starts the total' },
  },
  workgroupSize: 1,
  bindings: () => [
    { name: 'sums', access: 'read', doc: '[N·C, 4] from pass 2' },
    {
      name: 'coefficients',
      access: 'read_write',
      doc: '[N·C, 2]: ∂(−mean Dice)/∂p = coefficients[0]·y + coefficients[1]',
    },
    { name: 'losses', access: 'read_write', doc: '[outputs + 1]: weighted term of each output, then their sum' },
  ],
  body: () => `
fn diceTerms(tp: f32, sumP: f32, sumY: f32) -> vec2f {
  // (2tp + smooth) / (Σp + Σy + smooth + 1e-8), as ../region-losses.ts.
  return vec2f(tp * 2.0 + params.diceSmooth, sumP + sumY + params.diceSmooth + 1e-8);
}
fn main(group: u32, local: u32) {
  let C = params.channels;
  let N = params.samples;
  var groups = N * C;
  if (params.batchDice != 0u) { groups = C; }
  let invGroups = 1.0 / f32(groups);
  var diceSum = 0.0;
  var elementSum = 0.0;
  for (var c = 0u; c < C; c++) {
    var batch = vec3f(0.0);
    for (var n = 0u; n < N; n++) {
      let o = (n * C + c) * 4u;
      batch += vec3f(sums[o], sums[o + 1u], sums[o + 2u]);
      elementSum += sums[o + 3u];
    }
    for (var n = 0u; n < N; n++) {
      let o = (n * C + c) * 4u;
      var t = diceTerms(sums[o], sums[o + 1u], sums[o + 2u]);
      if (params.batchDice != 0u) { t = diceTerms(batch.x, batch.y, batch.z); }
      if (params.batchDice == 0u || n == 0u) { diceSum += t.x / t.y; }
      // d(−num/den)/dp_i = −(2·y_i·den − num)/den², averaged over the Dice groups.
      coefficients[(n * C + c) * 2u] = -2.0 * invGroups / t.y;
      coefficients[(n * C + c) * 2u + 1u] = invGroups * t.x / (t.y * t.y);
    }
  }
  let term = params.weight * (params.diceOffset - diceSum * invGroups + elementSum * params.inverseElements);
  losses[params.output] = term;
  if (params.first != 0u) { losses[params.total] = term; } else { losses[params.total] += term; }
}`,
});

/** Pass 4: `∂loss/∂logit` for every element of this output. */
export const REGION_LOSS_GRADIENT_KERNEL = defineKernel({
  name: 'region_loss_gradient',
  params: {
    ...ELEMENT_PARAMS,
    inverseElements: { type: 'f32', doc: '1 / (N·V·C)' },
    weight: { type: 'f32', doc: 'deep-supervision weight of this output' },
  },
  workgroupSize: ELEMENTWISE_WORKGROUP_SIZE,
  bindings: () => [
    { name: 'logits', access: 'read', doc: 'the network output of this scale' },
    { name: 'targets', access: 'read', doc: 'its targets, same layout' },
    { name: 'coefficients', access: 'read', doc: '[N·C, 2] from pass 3' },
    { name: 'grad', access: 'read_write', doc: '∂(total loss)/∂logits, same layout' },
  ],
  body: () => `${ELEMENT_WGSL}
${elementwiseMain(
  'grad',
  `  var c = i % params.channels;
  if (params.channelsLast == 0u) { c = (i / params.voxels) % params.channels; }
  let n = i / (params.voxels * params.channels);
  let x = logits[i];
  let y = targets[i];
  let p = sigmoid(x);
  let k = (n * params.channels + c) * 2u;
  let dice = (coefficients[k] * y + coefficients[k + 1u]) * (p * (1.0 - p));
  grad[i] = params.weight * (dice + elementGradient(x, y, p) * params.inverseElements);`,
)}`,
});
