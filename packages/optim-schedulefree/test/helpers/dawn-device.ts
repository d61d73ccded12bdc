/// <reference types="@webgpu/types" />
/**
 * A WebGPU device for tests in Node: Dawn's OpenGL ES backend (Mesa llvmpipe here, a real GPU
 * elsewhere). No adapter is a failure, not a skip, unless MEDNEXT_SKIP_WEBGPU is set: the
 * project's explicit opt-out for machines without one.
 */
import { create, globals } from 'webgpu';

/** Whether WebGPU tests were opted out with MEDNEXT_SKIP_WEBGPU. */
export const SKIP_WEBGPU = Boolean(process.env.MEDNEXT_SKIP_WEBGPU);

/** Dawn instances handed out; kept reachable, since a collected instance takes its devices down with it. */
const instances: GPU[] = [];

/** A Dawn device whose validation errors are collected in `errors` (tests assert it stays empty). */
export async function dawnDevice(): Promise<{ device: GPUDevice; errors: string[] }> {
  Object.assign(globalThis, globals);
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const gpu = create(['backend=opengles']);
  instances.push(gpu);
  const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
  if (!adapter) {
    throw new Error('no WebGPU adapter from Dawn (backend=opengles); set MEDNEXT_SKIP_WEBGPU=1 to skip WebGPU tests');
  }
  const device = await adapter.requestDevice();
  const errors: string[] = [];
  device.onuncapturederror = (e) => errors.push(e.error.message);
  return { device, errors };
}

/** A storage buffer holding `values` (usable as kernel input/output, copy source and destination). */
export function upload(device: GPUDevice, values: ArrayLike<number>): GPUBuffer {
  const buffer = device.createBuffer({
    size: Math.max(4, values.length * 4),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buffer, 0, Float32Array.from(values));
  return buffer;
}
