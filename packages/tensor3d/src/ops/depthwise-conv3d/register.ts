/**
 * Registers the depthwise 3-D conv kernels and gradients with tfjs. Importing the ops does this once.
 */
import * as tf from '@tensorflow/tfjs-core';
import { depthwiseConv3dGradConfigs } from './gradients.js';
import { readbackKernelConfigs } from './kernels-readback.js';
import { webgpuKernelConfigs } from './kernels-webgpu.js';

/**
 * Backends served by the host-side reference kernels. `tensorflow` is tfjs-node (native TensorFlow has no
 * 3-D depthwise conv kernel of its own in tfjs); `webgl` is listed so the ops also work where a user
 * brings that backend.
 */
export const READBACK_BACKENDS = ['cpu', 'wasm', 'tensorflow', 'webgl'] as const;

let registered = false;

/**
 * Registers the reference kernels for every supported backend and the gradients, skipping any
 * (kernel, backend) pair that already has a kernel: a faster implementation registered earlier (e.g.
 * the WebAssembly SIMD kernels) is kept. To replace a kernel registered here, call
 * `tf.unregisterKernel(name, backend)` and then `tf.registerKernel(...)`. Idempotent.
 */
export function registerDepthwiseConv3dKernels(): void {
  if (registered) return;
  registered = true;
  const configs = [...READBACK_BACKENDS.flatMap((b) => readbackKernelConfigs(b)), ...webgpuKernelConfigs()];
  for (const config of configs) {
    if (!tf.getKernel(config.kernelName, config.backendName)) tf.registerKernel(config);
  }
  for (const grad of depthwiseConv3dGradConfigs) {
    if (!tf.getGradient(grad.kernelName)) tf.registerGradient(grad);
  }
}

/**
 * Registers `config`, first removing any kernel registered under the same name and backend (a plain
 * `tf.registerKernel` would overwrite it too, but with an "already registered" warning). This is how a faster
 * implementation, e.g. a WebAssembly SIMD `DepthwiseConv3D` for `wasm`, takes over from the reference
 * kernels registered on import.
 */
export function replaceKernel(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}
