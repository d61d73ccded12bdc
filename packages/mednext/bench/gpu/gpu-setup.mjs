// Opening a WebGPU adapter through Dawn (the `webgpu` package) for the GPU benchmark's engine processes, and
// making it `navigator.gpu` so that every consumer in the process (tfjs-backend-webgpu, the project's WebGPU
// engine) uses the same one.
//
// Backends, in the order `auto` tries them: `vulkan` (a real GPU: NVIDIA's driver through the Vulkan loader),
// then `opengles` (Dawn's OpenGL ES backend through surfaceless EGL, which runs on Mesa's llvmpipe on machines
// without a GPU and needs the WebGPU compatibility feature level).
import { describeGpuAdapter } from '@mednext-ts/tensor3d';
import { create, globals } from 'webgpu';

/** The backends `--gpu-backend` accepts. */
export const GPU_BACKENDS = ['auto', 'vulkan', 'opengles'];

const DAWN_FLAGS = { vulkan: ['backend=vulkan'], opengles: ['backend=opengles'] };
const ADAPTER_OPTIONS = {
  vulkan: { powerPreference: 'high-performance' },
  opengles: { featureLevel: 'compatibility' },
};

/** Makes `gpu` the process's `navigator.gpu`, adding `extra` to every `requestAdapter` call. */
function installNavigatorGpu(gpu, extra) {
  const wrapped = {
    requestAdapter: (options) => gpu.requestAdapter({ ...options, ...extra }),
    getPreferredCanvasFormat: () => 'rgba8unorm',
    get wgslLanguageFeatures() {
      return gpu.wgslLanguageFeatures;
    },
  };
  const g = globalThis;
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: wrapped, configurable: true });
  else Object.defineProperty(g, 'navigator', { value: { gpu: wrapped }, configurable: true, writable: true });
}

/**
 * Opens the first adapter of `preference` (`auto` = vulkan, then opengles), installs it as `navigator.gpu` and
 * describes it. Dawn instances must live as long as the process: the returned `gpu` is kept by the caller.
 * @throws when no backend gives an adapter, with what each one answered
 */
export async function openGpu(preference = 'auto') {
  if (!GPU_BACKENDS.includes(preference)) {
    throw new Error(`--gpu-backend must be one of ${GPU_BACKENDS.join(', ')}, got '${preference}'`);
  }
  Object.assign(globalThis, globals);
  process.env.XDG_RUNTIME_DIR ??= process.env.TMPDIR ?? '/tmp';
  const tried = [];
  for (const backend of preference === 'auto' ? ['vulkan', 'opengles'] : [preference]) {
    if (backend === 'opengles') process.env.EGL_PLATFORM ??= 'surfaceless';
    const gpu = create(DAWN_FLAGS[backend]);
    let adapter = null;
    try {
      adapter = await gpu.requestAdapter(ADAPTER_OPTIONS[backend]);
    } catch (error) {
      tried.push(`${backend}: ${String(error?.message ?? error).split('\n')[0]}`);
      continue;
    }
    if (!adapter) {
      tried.push(`${backend}: no adapter`);
      continue;
    }
    installNavigatorGpu(gpu, backend === 'opengles' ? { featureLevel: 'compatibility' } : {});
    return { gpu, adapter, backend, description: describeGpuAdapter(adapter, backend) };
  }
  throw new Error(
    `no WebGPU adapter (${tried.join('; ')}). On an NVIDIA machine the Vulkan loader (libvulkan.so.1) and the ` +
      `driver's ICD file (nvidia_icd.json) must be visible; run.sh sets both up.`,
  );
}
