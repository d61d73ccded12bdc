/**
 * A tiny MedNeXt forward in a real browser (tfjs-wasm) against the same network, same parameters and same
 * input run in Node (tfjs-cpu) by this test.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MedNeXt, forwardNcdhw, type MedNeXtConfig } from '@mednext-ts/mednext';
import { selectBackend } from '@mednext-ts/tensor3d';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestPage, skipReason, type TestPage } from './harness/page.js';
import type { MedNeXtRequest, MedNeXtResult } from './page/protocol.js';
import { maxAbsDiff, uniformArray } from './page/random.js';

/** Brief: the browser forward must equal the Node one within 1e-4 (absolute). */
const TOL = 1e-4;
// Chromium ships WebGPU on SwiftShader, so a page without it is broken, not absent: those tests fail. The
// environment variable is the explicit opt-out the Node WebGPU tests share.
const WEBGPU_OPTED_OUT = Boolean(process.env.MEDNEXT_SKIP_WEBGPU);

/** Small but complete: 4 levels down and up, residual down/up blocks, GRN, every stage present. */
const CONFIG: MedNeXtConfig = {
  in_channels: 2,
  n_channels: 4,
  n_classes: 3,
  exp_r: 2,
  kernel_size: 3,
  deep_supervision: false,
  do_res: true,
  do_res_up_down: true,
  block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
  grn: true,
};
const INPUT_SHAPE = [1, 2, 16, 16, 16];

/**
 * The parameters: the PyTorch-default initialisation plus a small random offset, so the norm and GRN
 * parameters (initialised to ones/zeros) are not trivial and every layer shapes the output.
 */
function buildRequest(): MedNeXtRequest {
  const model = MedNeXt.create(CONFIG, { seed: 5 });
  const params: MedNeXtRequest['params'] = {};
  let i = 0;
  for (const [name, variable] of model.params) {
    const base = variable.dataSync() as Float32Array;
    const offset = uniformArray(base.length, 7919 * ++i);
    params[name] = { shape: [...variable.shape], data: Array.from(base, (v, j) => v + 0.1 * offset[j]!) };
    variable.dispose();
  }
  const n = INPUT_SHAPE.reduce((a, b) => a * b, 1);
  return { config: { ...CONFIG }, params, input: { shape: INPUT_SHAPE, data: Array.from(uniformArray(n, 4242)) } };
}

/** Runs the request in this Node process on tfjs-cpu. */
async function forwardInNode(request: MedNeXtRequest): Promise<{ shape: number[]; data: Float32Array }> {
  await selectBackend('cpu');
  const model = MedNeXt.create(CONFIG);
  try {
    for (const [name, variable] of model.params) {
      const p = request.params[name]!;
      const value = tf.tensor(p.data, p.shape, 'float32');
      variable.assign(value);
      value.dispose();
    }
    const [out] = await forwardNcdhw(model, {
      shape: request.input.shape,
      data: Float32Array.from(request.input.data),
    });
    return out!;
  } finally {
    for (const v of model.params.values()) v.dispose();
  }
}

const skip = skipReason();

describe.skipIf(skip !== null)(`MedNeXt in headless Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let page: TestPage;
  let request: MedNeXtRequest;
  let node: { shape: number[]; data: Float32Array };
  beforeAll(async () => {
    await selectBackend('cpu');
    request = buildRequest();
    node = await forwardInNode(request);
    page = await openTestPage();
  });
  afterAll(async () => {
    await page?.close();
  });

  /** Checks one browser result against the Node forward (shape, spread of the logits, max |diff|). */
  function expectMatchesNode(browser: MedNeXtResult, what: string, backend = 'wasm'): void {
    expect(browser.tfjsBackend).toBe(backend);
    expect(browser.shape).toEqual([1, CONFIG.n_classes, 16, 16, 16]);
    expect(node.shape).toEqual(browser.shape);
    const { diff, scale } = maxAbsDiff(browser.data, node.data);
    console.log(`MedNeXt ${what} vs Node (cpu): max |diff| ${diff.toExponential(2)}, max |logit| ${scale.toFixed(3)}`);
    // Logits that are all alike would make the comparison weak: the network must produce a real spread.
    expect(scale).toBeGreaterThan(1e-2);
    expect(diff, `${what}: max |diff| vs Node`).toBeLessThanOrEqual(TOL);
    expect(page.errors).toEqual([]);
  }

  it(`tiny MedNeXt forward on tfjs-wasm in the page equals the Node forward within ${TOL}`, async () => {
    const r = await page.call('mednextForward', request);
    expect(r.context).toBe('window');
    expect(r.fastKernels).toBeUndefined();
    expectMatchesNode(r, 'page, tfjs-wasm');
  });

  it('same forward on the WebAssembly kernels (registerFastKernels, main thread: 1 thread)', async () => {
    const r = await page.call('mednextForward', { ...request, fastKernels: { threads: 2 } });
    expect(r.context).toBe('window');
    // The main thread cannot block on Atomics.wait, so the kernels run single-threaded there.
    expect(r.fastKernels?.threads).toBe(1);
    expect(r.fastKernels?.fallbackReason).toMatch(/main thread/);
    expect(r.fastKernels?.dispatches, 'kernel dispatches during the forward').toBeGreaterThan(0);
    expectMatchesNode(r, 'page, WASM kernels x1');
  });

  it('same forward in a dedicated worker on the WebAssembly kernels with 2 threads', async () => {
    const r = await page.call('mednextForward', { ...request, fastKernels: { threads: 2 }, inWorker: true });
    expect(r.context).toBe('worker');
    expect(r.fastKernels?.fallbackReason).toBeNull();
    expect(r.fastKernels?.threads).toBe(2);
    expect(r.fastKernels?.dispatches, 'kernel dispatches during the forward').toBeGreaterThan(0);
    expectMatchesNode(r, 'worker, WASM kernels x2');
  });

  it.skipIf(WEBGPU_OPTED_OUT)(
    'same forward on tfjs-webgpu (the WGSL depthwise kernels) in the page',
    async () => {
      expect(await page.call('webGpuMissing'), 'WebGPU in this Chromium (SwiftShader)').toBeNull();
      const r = await page.call('mednextForward', { ...request, backend: 'webgpu' });
      expectMatchesNode(r, 'page, tfjs-webgpu', 'webgpu');
      // About 17 s on SwiftShader here, mostly shader compilation: allow for a loaded machine.
    },
    120_000,
  );

  it.skipIf(WEBGPU_OPTED_OUT)(
    'same forward on the WebGPU engine (createWebGpuNetwork, the project WGSL kernels) in the page',
    async () => {
      expect(await page.call('webGpuMissing'), 'WebGPU in this Chromium (SwiftShader)').toBeNull();
      const r = await page.call('webGpuEngineForward', request);
      console.log(
        `WebGPU engine on ${r.adapter} (software ${r.software}): first forward ${r.firstMs.toFixed(0)} ms, steady ${r.steadyMs.toFixed(0)} ms`,
      );
      expectMatchesNode(
        { ...r, tfjsBackend: 'webgpu-engine', context: 'window' },
        'page, WebGPU engine',
        'webgpu-engine',
      );
      // First forward about 45-55 s on SwiftShader here (shader compilation), steady about 3 s.
    },
    240_000,
  );
});
