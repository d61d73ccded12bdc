/**
 * Depthwise 3-D conv kernels for tfjs-backend-webgpu: one WGSL compute shader per kernel, run through
 * the backend's program API (`runWebGPUProgram`). Every shader thread computes one output element as a
 * gather (no atomics), which keeps the three kernels deterministic.
 *
 * The program objects follow the backend's `WebGPUProgram` interface: tfjs generates the bindings, the
 * `uniforms` struct (including `<name>Shape` for every input and `size`), the accessors
 * `get<Name>(...)`, `getOutputCoords()` and `setOutputAtIndex()`; our code supplies `main(index)`.
 * This module does not import the webgpu backend, so it costs nothing where that backend is absent.
 */
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import {
  DepthwiseConv3D,
  DepthwiseConv3DBackpropFilter,
  DepthwiseConv3DBackpropInput,
  type DepthwiseConv3DAttrs,
  type DepthwiseConv3DBackpropFilterAttrs,
  type DepthwiseConv3DBackpropInputAttrs,
} from './kernel-names.js';
import { convOutSpatial, sizeOf } from './geometry.js';

/** The part of tfjs-backend-webgpu's `WebGPUProgram` these kernels fill in. */
interface WebGpuProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  uniforms: string;
  workgroupSize: [number, number, number];
  size: boolean;
  getUserCode(): string;
}

/** The part of the webgpu backend these kernels use. */
interface WebGpuBackend {
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: TensorInfo[],
    outputDtype: DataType,
    uniforms?: Array<{ type: string; data: number[] }>,
  ): TensorInfo;
  disposeData(dataId: object): void;
}

const WORKGROUP: [number, number, number] = [64, 1, 1];

/** A flat program: one thread per output element. */
function flatProgram(
  shaderKey: string,
  outputShape: number[],
  variableNames: string[],
  uniforms: string,
  body: string,
): WebGpuProgram {
  return {
    outputShape,
    shaderKey,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(sizeOf(outputShape) / WORKGROUP[0]), 1, 1],
    variableNames,
    uniforms,
    workgroupSize: WORKGROUP,
    size: true,
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
${body}
        }
      }`,
  };
}

const CONV_UNIFORMS = 'filterDims : vec3<i32>, pads : vec3<i32>, strides : vec3<i32>,';

function convUniforms(
  filterShape: readonly number[],
  attrs: DepthwiseConv3DAttrs,
): Array<{ type: string; data: number[] }> {
  return [
    { type: 'int32', data: filterShape.slice(0, 3) },
    { type: 'int32', data: [...attrs.pad] },
    { type: 'int32', data: [...attrs.strides] },
  ];
}

/** Forward: out[n, o, c] = sum_t x[n, o*s - p + t, c] * W[t, c]. */
function forwardProgram(outShape: number[]): WebGpuProgram {
  return flatProgram(
    'mednextDepthwiseConv3d',
    outShape,
    ['x', 'W'],
    CONV_UNIFORMS,
    `
          let coords = getOutputCoords();
          let corner = vec3<i32>(coords.y, coords.z, coords.w) * uniforms.strides - uniforms.pads;
          var acc = 0.0;
          for (var td = 0; td < uniforms.filterDims.x; td++) {
            let xd = corner.x + td;
            if (xd < 0 || xd >= uniforms.xShape.y) { continue; }
            for (var th = 0; th < uniforms.filterDims.y; th++) {
              let xh = corner.y + th;
              if (xh < 0 || xh >= uniforms.xShape.z) { continue; }
              for (var tw = 0; tw < uniforms.filterDims.z; tw++) {
                let xw = corner.z + tw;
                if (xw < 0 || xw >= uniforms.xShape.w) { continue; }
                acc += getX(coords.x, xd, xh, xw, coords.u) * getW(td, th, tw, coords.u);
              }
            }
          }
          setOutputAtIndex(index, acc);`,
  );
}

/**
 * Input gradient / transposed conv as a gather: input voxel i receives dy[o] * W[t] for every tap t with
 * i + p - t = o*s, 0 <= o < outLength. The sign test comes before `%` because WGSL's `%` truncates.
 */
function backpropInputProgram(inShape: number[]): WebGpuProgram {
  return flatProgram(
    'mednextDepthwiseConv3dBackpropInput',
    inShape,
    ['dy', 'W'],
    CONV_UNIFORMS,
    `
          let coords = getOutputCoords();
          let shifted = vec3<i32>(coords.y, coords.z, coords.w) + uniforms.pads;
          var acc = 0.0;
          for (var td = 0; td < uniforms.filterDims.x; td++) {
            let qd = shifted.x - td;
            if (qd < 0 || qd % uniforms.strides.x != 0) { continue; }
            let od = qd / uniforms.strides.x;
            if (od >= uniforms.dyShape.y) { continue; }
            for (var th = 0; th < uniforms.filterDims.y; th++) {
              let qh = shifted.y - th;
              if (qh < 0 || qh % uniforms.strides.y != 0) { continue; }
              let oh = qh / uniforms.strides.y;
              if (oh >= uniforms.dyShape.z) { continue; }
              for (var tw = 0; tw < uniforms.filterDims.z; tw++) {
                let qw = shifted.z - tw;
                if (qw < 0 || qw % uniforms.strides.z != 0) { continue; }
                let ow = qw / uniforms.strides.z;
                if (ow >= uniforms.dyShape.w) { continue; }
                acc += getDy(coords.x, od, oh, ow, coords.u) * getW(td, th, tw, coords.u);
              }
            }
          }
          setOutputAtIndex(index, acc);`,
  );
}

/**
 * Filter gradient, stage 1: partial sums per (batch, output depth slice), output
 * `[N * oD, kd, kh, kw, C]`, so that each thread loops over one oH x oW plane only.
 */
function backpropFilterPartialProgram(partialShape: number[]): WebGpuProgram {
  return flatProgram(
    'mednextDepthwiseConv3dBackpropFilterPartial',
    partialShape,
    ['x', 'dy'],
    'pads : vec3<i32>, strides : vec3<i32>,',
    `
          let coords = getOutputCoords();
          let n = coords.x / uniforms.dyShape.y;
          let od = coords.x % uniforms.dyShape.y;
          let c = coords.u;
          let xd = od * uniforms.strides.x - uniforms.pads.x + coords.y;
          var acc = 0.0;
          if (xd >= 0 && xd < uniforms.xShape.y) {
            for (var oh = 0; oh < uniforms.dyShape.z; oh++) {
              let xh = oh * uniforms.strides.y - uniforms.pads.y + coords.z;
              if (xh < 0 || xh >= uniforms.xShape.z) { continue; }
              for (var ow = 0; ow < uniforms.dyShape.w; ow++) {
                let xw = ow * uniforms.strides.z - uniforms.pads.z + coords.w;
                if (xw < 0 || xw >= uniforms.xShape.w) { continue; }
                acc += getX(n, xd, xh, xw, c) * getDy(n, od, oh, ow, c);
              }
            }
          }
          setOutputAtIndex(index, acc);`,
  );
}

/** Filter gradient, stage 2: sums the partials over their first axis. */
function sumFirstAxisProgram(filterShape: number[]): WebGpuProgram {
  return flatProgram(
    'mednextDepthwiseConv3dSumPartials',
    filterShape,
    ['partial'],
    '',
    `
          let coords = getOutputCoords();
          var acc = 0.0;
          for (var r = 0; r < uniforms.partialShape.x; r++) {
            acc += getPartial(r, coords.x, coords.y, coords.z, coords.w);
          }
          setOutputAtIndex(index, acc);`,
  );
}

function attrsOf<T>(attrs: NamedAttrMap | undefined): T {
  return attrs as unknown as T;
}

const forward: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WebGpuBackend;
  const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
  const a = attrsOf<DepthwiseConv3DAttrs>(attrs);
  const spatial = convOutSpatial(x.shape.slice(1, 4), filter.shape, a.strides, a.pad, DepthwiseConv3D);
  const outShape = [x.shape[0]!, ...spatial, x.shape[4]!];
  return b.runWebGPUProgram(forwardProgram(outShape), [x, filter], 'float32', convUniforms(filter.shape, a));
};

const backpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WebGpuBackend;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrsOf<DepthwiseConv3DBackpropInputAttrs>(attrs);
  return b.runWebGPUProgram(
    backpropInputProgram([...a.inputShape]),
    [dy, filter],
    'float32',
    convUniforms(filter.shape, a),
  );
};

const backpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WebGpuBackend;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrsOf<DepthwiseConv3DBackpropFilterAttrs>(attrs);
  const partialShape = [dy.shape[0]! * dy.shape[1]!, ...a.filterShape];
  const partial = b.runWebGPUProgram(backpropFilterPartialProgram(partialShape), [x, dy], 'float32', [
    { type: 'int32', data: [...a.pad] },
    { type: 'int32', data: [...a.strides] },
  ]);
  const result = b.runWebGPUProgram(sumFirstAxisProgram([...a.filterShape]), [partial], 'float32');
  b.disposeData(partial.dataId);
  return result;
};

/** The three kernels as tfjs kernel configs for the `webgpu` backend. */
export function webgpuKernelConfigs(): KernelConfig[] {
  const backendName = 'webgpu';
  return [
    { kernelName: DepthwiseConv3D, backendName, kernelFunc: forward },
    { kernelName: DepthwiseConv3DBackpropInput, backendName, kernelFunc: backpropInput },
    { kernelName: DepthwiseConv3DBackpropFilter, backendName, kernelFunc: backpropFilter },
  ];
}
