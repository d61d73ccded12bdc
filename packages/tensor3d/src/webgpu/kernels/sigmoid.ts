/** Elementwise logistic function output = 1 / (1 + exp(-input)), stable for large |input|. */
import { defineKernel } from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';

const WORKGROUP = 64;

/** The kernel declaration (no constants). */
export const sigmoidKernel = defineKernel({
  name: 'sigmoid',
  workgroupSize: WORKGROUP,
  params: { length: { type: 'u32', doc: 'elements' } },
  bindings: () => [
    { name: 'input', access: 'read', doc: 'logits' },
    { name: 'output', access: 'read_write', doc: 'probabilities (a second tensor)' },
  ],
  body: () => /* wgsl */ `
fn main(group: u32, local: u32) {
  let i = group * ${WORKGROUP}u + local;
  if (i >= params.length) { return; }
  let x = input[i];
  // exp of a non-positive number only: no overflow for large |x|.
  let e = exp(-abs(x));
  output[i] = select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}
`,
});

/** Records output = sigmoid(input). */
export function sigmoid(rt: GpuRuntime, args: { input: GpuTensor; output: GpuTensor }): void {
  const n = args.output.length;
  if (args.input.length !== n) throw new Error('sigmoid: input and output must have the same length');
  rt.run(sigmoidKernel, {}, { length: n }, args, Math.ceil(n / WORKGROUP));
}
