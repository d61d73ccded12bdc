/** Elementwise sum of two f32 tensors of the same length: output = a + b (residual additions). */
import { defineKernel } from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';

const WORKGROUP = 64;

/** The kernel declaration (no constants). */
export const addKernel = defineKernel({
  name: 'add',
  workgroupSize: WORKGROUP,
  params: { length: { type: 'u32', doc: 'elements' } },
  bindings: () => [
    { name: 'a', access: 'read', doc: 'first term' },
    { name: 'b', access: 'read', doc: 'second term' },
    { name: 'output', access: 'read_write', doc: 'a + b (a third tensor)' },
  ],
  body: () => /* wgsl */ `
fn main(group: u32, local: u32) {
  let i = group * ${WORKGROUP}u + local;
  if (i < params.length) { output[i] = a[i] + b[i]; }
}
`,
});

/** Records output = a + b. */
export function add(rt: GpuRuntime, args: { a: GpuTensor; b: GpuTensor; output: GpuTensor }): void {
  const n = args.output.length;
  if (args.a.length !== n || args.b.length !== n) throw new Error('add: a, b and output must have the same length');
  rt.run(addKernel, {}, { length: n }, args, Math.ceil(n / WORKGROUP));
}
