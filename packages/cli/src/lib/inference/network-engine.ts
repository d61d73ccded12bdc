/**
 * Which engine runs the network forward of `mednext predict`: the project's WebGPU engine (WGSL kernels, one
 * command encoder per window) or the tfjs backend chosen by `--backend`.
 *
 * - `--backend webgpu`: the WebGPU engine on whatever adapter there is (an error when there is none); the few
 *   tensor operations outside the network run on the CPU backends.
 * - `--backend auto`: the WebGPU engine only on a hardware GPU. Software adapters (Mesa llvmpipe/lavapipe,
 *   SwiftShader, WARP) are correct but slower than the CPU kernels, so `auto` keeps the CPU there. On Linux the
 *   GPU is only probed when a GPU device node exists (`/dev/nvidia*`, `/dev/dri/renderD*`), so CPU-only machines
 *   pay nothing.
 * - any other backend: tfjs, as before.
 */
import { existsSync, readdirSync } from 'node:fs';
import type { BackendPreference } from '@mednext-ts/tensor3d';
import { acquireGpuDevice, type GpuAdapterSummary } from '@mednext-ts/tensor3d/webgpu';

/** The engine chosen, and why. */
export interface NetworkEngineChoice {
  engine: 'webgpu' | 'tfjs';
  reason: string;
  /** The adapter, when the WebGPU engine was chosen. */
  adapter?: GpuAdapterSummary;
  /** The device for the WebGPU engine (shared by the ensemble's models). */
  device?: GPUDevice;
}

/** Whether this machine has a GPU device node (Linux); true elsewhere, where there is no cheap test. */
export function mayHaveGpu(): boolean {
  if (process.platform !== 'linux') return true;
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((name) => name.startsWith('renderD'));
  } catch {
    return false;
  }
}

/**
 * Picks the network engine for `preference` (the `--backend` flag).
 * @throws Error when `webgpu` is requested and no adapter can be had (the message says why)
 */
export async function chooseNetworkEngine(preference: BackendPreference): Promise<NetworkEngineChoice> {
  if (preference === 'webgpu') {
    let acquired;
    try {
      acquired = await acquireGpuDevice();
    } catch (error) {
      throw new Error(
        `--backend webgpu: ${(error as Error).message}. Hint: in Node install the webgpu package and a Vulkan driver (or Mesa EGL for a software adapter)`,
        { cause: error },
      );
    }
    return {
      engine: 'webgpu',
      reason: `requested explicitly${acquired.adapter.software ? '; a software adapter, slower than the CPU kernels' : ''}`,
      adapter: acquired.adapter,
      device: acquired.device,
    };
  }
  if (preference !== 'auto') return { engine: 'tfjs', reason: `--backend ${preference}` };
  if (!mayHaveGpu()) return { engine: 'tfjs', reason: 'no GPU device on this machine' };
  try {
    const acquired = await acquireGpuDevice();
    if (acquired.adapter.software) {
      acquired.device.destroy();
      return {
        engine: 'tfjs',
        reason: `the only WebGPU adapter is a software one (${acquired.adapter.description}); the CPU kernels are faster`,
      };
    }
    return { engine: 'webgpu', reason: 'a GPU adapter was found', adapter: acquired.adapter, device: acquired.device };
  } catch (error) {
    return { engine: 'tfjs', reason: `no WebGPU adapter (${(error as Error).message})` };
  }
}
