import { flipSpatial, slidingWindowInference, type PatchPredictor } from '@mednext-ts/tensor3d';
import { describe, expect, it } from 'vitest';
import { withMirrorTTA } from '../src/inference/tta.js';

const shape: [number, number, number] = [4, 3, 5];
const n = 60;

function ramp(count: number): Float32Array {
  return Float32Array.from({ length: count * n }, (_, i) => (i % n) + 1000 * Math.floor(i / n));
}

describe('withMirrorTTA', () => {
  it('calls the model on all 8 mirrored copies and averages the un-mirrored predictions', async () => {
    const inputs: Float32Array[] = [];
    // A model that is not mirror-equivariant: output = input + its x index (so results depend on orientation).
    const model: PatchPredictor = (p) => {
      inputs.push(p.slice());
      return p.map((v, i) => v + Math.floor((i % n) / 15));
    };
    const tta = withMirrorTTA(model, { patchSize: shape });
    const x = ramp(2);
    const out = await tta(x, 2);
    expect(inputs).toHaveLength(8);
    // the inputs seen are exactly the 8 mirrored versions
    const expectedSeen = [[], [0], [1], [0, 1], [2], [0, 2], [1, 2], [0, 1, 2]].map((axes) =>
      flipSpatial(x, shape, axes as (0 | 1 | 2)[]),
    );
    expect(inputs).toEqual(expectedSeen);
    // un-mirroring the x-index term averages it to (3 + 0) / 2 over the two x orientations: 1.5 everywhere
    for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(x[i]! + 1.5, 4);
  });

  it('leaves a mirror-equivariant model unchanged and restricts to the axes asked for', async () => {
    let calls = 0;
    const square: PatchPredictor = (p) => {
      calls++;
      return p.map((v) => v * v);
    };
    const x = ramp(1);
    const out = await withMirrorTTA(square, { patchSize: shape, axes: [2] })(x, 1);
    expect(calls).toBe(2);
    for (let i = 0; i < n; i++) expect(out[i]).toBeCloseTo(x[i]! * x[i]!, 3);
  });

  it('plugs into sliding-window inference', async () => {
    const input = { data: ramp(1), shape: [1, 4, 3, 5] as [number, number, number, number] };
    const identity: PatchPredictor = (p) => p.slice();
    const out = await slidingWindowInference(input, withMirrorTTA(identity, { patchSize: [2, 2, 2] }), {
      patchSize: [2, 2, 2],
      outChannels: 1,
    });
    for (let i = 0; i < n; i++) expect(out.data[i]).toBeCloseTo(input.data[i]!, 4);
  });
});
