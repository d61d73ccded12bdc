/**
 * Bytes of every value a recording forward keeps for the backward pass (the output of every call but the heads),
 * in f32, counted by walking the network over shapes only.
 */
import { walkMedNeXt, type MedNeXt, type NetworkEngine } from '../../src/index.js';

export function keptActivationBytes(model: MedNeXt, inChannels: number, spatial: [number, number, number]): number {
  type Shape = { channels: number; size: number[] };
  let bytes = 0;
  const keep = (channels: number, size: number[]): Shape => {
    bytes += channels * size[0]! * size[1]! * size[2]! * 4;
    return { channels, size };
  };
  const arch = model.architecture;
  const shapes: NetworkEngine<Shape, null> = {
    name: 'shapes',
    stem: (x) => keep(arch.config.nChannels, x.size),
    block: (x, b) => keep(b.cOut, x.size),
    down: (x, b) =>
      keep(
        b.cOut,
        x.size.map((n) => n / 2),
      ),
    upAdd: (x, b, skip) => keep(b.cOut, skip.size),
    head: () => null,
    release: () => {},
  };
  walkMedNeXt(arch, shapes, { channels: inChannels, size: spatial }, { deepSupervision: false });
  return bytes;
}
