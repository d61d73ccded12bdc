/**
 * Guarded dynamic imports of optional packages (tfjs-node, tfjs-node-gpu, webgpu).
 *
 * Their installers download native libraries, so they are often absent or broken; a
 * missing one must become a one-line hint, never a stack trace.
 */

/** Loads a module by name; replaced in tests to simulate installed or missing packages. */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

/**
 * Backends this package depends on: imported with literal specifiers so that bundlers (Vite,
 * webpack, esbuild) see them and split them into chunks of a browser build.
 */
const BUNDLED_BACKENDS: Record<string, () => Promise<unknown>> = {
  '@tensorflow/tfjs-backend-wasm': () => import('@tensorflow/tfjs-backend-wasm'),
  '@tensorflow/tfjs-backend-webgpu': () => import('@tensorflow/tfjs-backend-webgpu'),
};

/**
 * The default importer: the bundled backends by literal import; anything else (the optional,
 * Node-only tfjs-node packages and Dawn) through an `import()` hidden from bundlers, which must
 * not try to resolve packages that are usually absent.
 */
export const defaultImporter: ModuleImporter = (specifier) =>
  BUNDLED_BACKENDS[specifier]?.() ?? import(/* @vite-ignore */ specifier);

/** Outcome of trying to load an optional package. */
export type OptionalImport<T> = { ok: true; module: T } | { ok: false; reason: string };

/**
 * Imports `specifier`, turning every failure into a short reason: "not installed" when the
 * package cannot be resolved, otherwise the first line of the loader's error (for example a
 * native addon that is present but cannot find libtensorflow).
 */
export async function tryImport<T>(
  specifier: string,
  importer: ModuleImporter = defaultImporter,
): Promise<OptionalImport<T>> {
  try {
    return { ok: true, module: (await importer(specifier)) as T };
  } catch (error) {
    const err = error as { code?: string; message?: string };
    const missing =
      err.code === 'ERR_MODULE_NOT_FOUND' ||
      err.code === 'MODULE_NOT_FOUND' ||
      (typeof err.message === 'string' && /Cannot find (module|package)/.test(err.message));
    if (missing) return { ok: false, reason: `${specifier} is not installed` };
    const firstLine = String(err.message ?? error).split('\n')[0] ?? 'unknown error';
    return { ok: false, reason: `${specifier} failed to load: ${firstLine}` };
  }
}
