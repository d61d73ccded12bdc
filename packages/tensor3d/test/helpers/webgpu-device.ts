/**
 * The GPU device of the WebGPU kernel tests. WebGPU is expected wherever these tests run (Dawn's OpenGL ES
 * backend on Mesa llvmpipe needs no GPU): a machine without an adapter FAILS them, with the reason. Set
 * `MEDNEXT_SKIP_WEBGPU=1` to declare that an environment has no WebGPU at all; only then are they skipped.
 */
import { acquireGpuDevice, type AcquiredGpuDevice } from '../../src/webgpu/index.js';

/** True when the environment declares it has no WebGPU. */
export const WEBGPU_DECLARED_ABSENT = !!process.env.MEDNEXT_SKIP_WEBGPU;

let acquired: Promise<AcquiredGpuDevice> | undefined;

/** The shared device (acquired once per test file; throws with the reason when there is none). */
export function testGpuDevice(): Promise<AcquiredGpuDevice> {
  acquired ??= acquireGpuDevice();
  return acquired;
}
