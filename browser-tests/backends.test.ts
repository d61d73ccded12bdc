/**
 * The tfjs backends in a real browser, chosen with the project's `selectBackend`, running the project's
 * depthwise 3-D conv ops: forward, both gradients and the transposed op against the float64 JS references.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestPage, skipReason, type TestPage } from './harness/page.js';
import type { DepthwiseResult, Diff } from './page/protocol.js';

/** float32 kernels against a float64 reference: a few ulps of the largest value (tensor3d's own tolerance). */
const REL_TOL = 1e-5;

function expectClose(d: Diff, what: string): void {
  expect(d.scale, `${what}: the reference is all zeros, the comparison would be vacuous`).toBeGreaterThan(0);
  expect(d.diff, `${what}: max |diff| ${d.diff} vs max |expected| ${d.scale}`).toBeLessThanOrEqual(
    REL_TOL * Math.max(1, d.scale),
  );
}

function expectAllClose(r: DepthwiseResult): void {
  expect(r.cases.length).toBeGreaterThan(0);
  for (const c of r.cases) {
    expectClose(c.y, `${r.backend} ${c.label} forward`);
    expectClose(c.dx, `${r.backend} ${c.label} d/dx`);
    expectClose(c.df, `${r.backend} ${c.label} d/dfilter`);
    expectClose(c.transposed, `${r.backend} ${c.label} transposed`);
  }
}

const skip = skipReason();

describe.skipIf(skip !== null)(`tfjs backends in headless Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let page: TestPage;
  beforeAll(async () => {
    page = await openTestPage();
  });
  afterAll(async () => {
    await page?.close();
  });

  it("selectBackend('wasm'): depthwiseConv3d forward, gradients and transpose match the JS reference", async () => {
    const r = await page.call('depthwise', 'wasm');
    expect(r.backend).toBe('wasm');
    expect(r.tfjsBackend).toBe('wasm');
    expectAllClose(r);
    expect(page.errors).toEqual([]);
  });

  it("selectBackend('webgpu'): the WGSL depthwise kernels match the JS reference", async (ctx) => {
    const missing = await page.call('webGpuMissing');
    ctx.skip(missing !== null, `no WebGPU in this browser: ${missing}`);
    const r = await page.call('depthwise', 'webgpu');
    expect(r.backend).toBe('webgpu');
    expect(r.tfjsBackend).toBe('webgpu');
    // On a machine without a GPU this is Chromium's CPU fallback (SwiftShader): a correctness check only.
    console.log(`webgpu adapter: ${JSON.stringify(r.adapter)}`);
    expect(r.adapter).toBeDefined();
    expectAllClose(r);
    expect(page.errors).toEqual([]);
  });
});
