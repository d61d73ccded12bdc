/// <reference types="@webgpu/types" />
/**
 * Values of the WebGPU engine held as channel groups. A channels-first [C, D, H, W] tensor larger than one storage
 * binding is kept as several buffers, each a contiguous run of `partChannels` channels (the last may hold fewer),
 * so every buffer fits the runtime's `maxBindingBytes`. A value that fits is one part.
 */
import {
  channelsPerGroup,
  copyBlock,
  GpuCapacityError,
  type GpuRuntime,
  type GpuTensor,
} from '@mednext-ts/tensor3d/webgpu';

/** A value of the GPU engine: a channels-first tensor of one sample, as one or more channel groups. */
export interface GpuValue {
  /** The channel groups in channel order; one part when the tensor fits one binding. */
  readonly parts: readonly GpuTensor[];
  /** Channels per part (the last part may hold fewer). */
  readonly partChannels: number;
  readonly channels: number;
  /** Spatial size [D, H, W]. */
  readonly size: [number, number, number];
  /**
   * The whole tensor as one buffer.
   * @throws GpuCapacityError when the value is split into several channel groups
   */
  readonly tensor: GpuTensor;
}

export const voxels = (s: readonly number[]): number => s[0] * s[1] * s[2];

/** The `[first, count]` channel ranges of `channels` channels in groups of `partChannels`. */
export function channelRanges(channels: number, partChannels: number): Array<{ first: number; count: number }> {
  const out: Array<{ first: number; count: number }> = [];
  for (let first = 0; first < channels; first += partChannels) {
    out.push({ first, count: Math.min(partChannels, channels - first) });
  }
  return out;
}

/** A value over existing parts. */
export function gpuValue(
  parts: readonly GpuTensor[],
  channels: number,
  size: [number, number, number],
  partChannels = channels,
): GpuValue {
  return {
    parts,
    partChannels,
    channels,
    size,
    get tensor(): GpuTensor {
      if (parts.length !== 1) {
        throw new GpuCapacityError(
          `GPU value '${parts[0]?.label}' (${channels}x${size.join('x')}) is split into ${parts.length} channel groups; ` +
            'this operation needs it in one binding',
        );
      }
      return parts[0];
    },
  };
}

/**
 * A new value of uninitialised parts.
 * @param partChannels channels per part (default: as many as fit one binding); must fit one binding
 */
export function allocateValue(
  rt: GpuRuntime,
  channels: number,
  size: [number, number, number],
  label: string,
  partChannels = channelsPerGroup(channels, voxels(size), rt.maxBindingBytes),
): GpuValue {
  const g = Math.min(partChannels, channels);
  const vox = voxels(size);
  const parts = channelRanges(channels, g).map(({ first, count }) =>
    rt.tensor(count * vox, g === channels ? label : `${label}[${first}:${first + count}]`),
  );
  return gpuValue(parts, channels, size, g);
}

/**
 * Uploads one channels-first sample `[channels, D, H, W]`; like every tensor, it is split into channel groups
 * when it exceeds one binding.
 */
export function uploadSample(
  rt: GpuRuntime,
  x: Float32Array,
  channels: number,
  spatial: readonly [number, number, number],
): GpuValue {
  const vox = voxels(spatial);
  const partChannels = channelsPerGroup(channels, vox, rt.maxBindingBytes);
  const parts = channelRanges(channels, partChannels).map(({ first, count }) =>
    rt.upload(x.subarray(first * vox, (first + count) * vox), `input[${first}]`),
  );
  return gpuValue(parts, channels, [spatial[0], spatial[1], spatial[2]], partChannels);
}

/** Whether a `[channels, voxels]` tensor fits one binding of `rt`. */
export function fitsOneBinding(rt: GpuRuntime, channels: number, vox: number): boolean {
  return channels * vox * 4 <= rt.maxBindingBytes;
}

/**
 * `v` with `partChannels` channels per part: `v` itself when it already is, else a copy (release it when done;
 * `v` stays valid).
 */
export function regroup(rt: GpuRuntime, v: GpuValue, partChannels: number): GpuValue {
  const g = Math.min(partChannels, v.channels);
  if (g === v.partChannels) return v;
  const vox = voxels(v.size);
  const out = allocateValue(rt, v.channels, v.size, `${v.parts[0].label}.regrouped`, g);
  const source = channelRanges(v.channels, v.partChannels);
  channelRanges(v.channels, g).forEach((dst, j) => {
    source.forEach((src, i) => {
      const first = Math.max(src.first, dst.first);
      const end = Math.min(src.first + src.count, dst.first + dst.count);
      if (end <= first) return;
      copyBlock(rt, {
        src: v.parts[i],
        dst: out.parts[j],
        rows: 1,
        cols: (end - first) * vox,
        srcOffset: (first - src.first) * vox,
        dstOffset: (first - dst.first) * vox,
      });
    });
  });
  return out;
}

/** Gives every part back to the runtime's pool. */
export function releaseValue(rt: GpuRuntime, v: GpuValue): void {
  for (const p of v.parts) rt.release(p);
}
