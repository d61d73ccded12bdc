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
import { planDeviceEngine, type GpuProbeResult } from '@mednext-ts/mednext';
import type { BackendPreference } from '@mednext-ts/tensor3d';
import { acquireGpuDevice, type AcquiredGpuDevice, type GpuAdapterSummary } from '@mednext-ts/tensor3d/webgpu';

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

/** How {@link chooseNetworkEngine} looks for a GPU (replaceable in tests). */
export interface GpuProbe {
  /** Whether a GPU may be present at all (default {@link mayHaveGpu}). */
  mayHaveGpu?: () => boolean;
  /** Acquires a device (default `acquireGpuDevice`). */
  acquire?: () => Promise<AcquiredGpuDevice>;
}

/**
 * Probes for a GPU as `preference` (the `--backend` flag) needs, and lets {@link planDeviceEngine} decide.
 * @throws Error when `webgpu` is requested and no adapter can be had (the message says why)
 */
export async function chooseNetworkEngine(
  preference: BackendPreference,
  probe: GpuProbe = {},
): Promise<NetworkEngineChoice> {
  const acquire = probe.acquire ?? (() => acquireGpuDevice());
  let acquired: AcquiredGpuDevice | undefined;
  let found: GpuProbeResult;
  if (preference !== 'webgpu' && preference !== 'auto') {
    found = { found: false, notProbed: true, reason: 'not probed' };
  } else if (preference === 'auto' && !(probe.mayHaveGpu ?? mayHaveGpu)()) {
    found = { found: false, notProbed: true, reason: 'no GPU device on this machine' };
  } else {
    try {
      acquired = await acquire();
      found = { found: true, description: acquired.adapter.description, software: acquired.adapter.software };
    } catch (error) {
      const message = (error as Error).message;
      found = {
        found: false,
        reason:
          preference === 'webgpu'
            ? `${message}. Hint: in Node install the webgpu package and a Vulkan driver (or Mesa EGL for a software adapter)`
            : `no WebGPU adapter (${message})`,
      };
    }
  }
  const plan = planDeviceEngine(preference, found);
  if (plan.engine !== 'webgpu') {
    acquired?.device.destroy();
    return plan;
  }
  return { ...plan, adapter: acquired?.adapter, device: acquired?.device };
}
