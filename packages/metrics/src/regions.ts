/** Binary region masks from label maps. */
import type { EvaluationProtocol } from './protocol.js';

/**
 * 0/1 mask of the voxels of `labels` that belong to `region` of `protocol` (e.g. SSA TC = labels 1
 * and 3). Values outside the region, including labels unknown to the protocol, are background, as in
 * the official code.
 */
export function regionMask(labels: ArrayLike<number>, protocol: EvaluationProtocol, region: string): Uint8Array {
  const members = protocol.regionLabels[region];
  if (!members) throw new RangeError(`region ${region} is not defined for protocol ${protocol.name}`);
  const lut = new Uint8Array(256);
  for (const v of members) lut[v] = 1;
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    // Labels are validated to be small integers before this point; anything else is background.
    out[i] = v >= 0 && v < 256 ? lut[v] : 0;
  }
  return out;
}
