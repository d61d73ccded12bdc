import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Packages whose versions `mednext doctor` reports. */
export const REPORTED_PACKAGES = [
  '@mednext-ts/cli',
  '@mednext-ts/io-nifti',
  '@mednext-ts/tensor3d',
  '@mednext-ts/mednext',
  '@mednext-ts/optim-schedulefree',
  '@mednext-ts/metrics',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-backend-webgpu',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  'webgpu',
] as const;

/** Installed version of a package, or null when it is not installed. */
export function installedVersion(name: string): string | null {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}
