/**
 * Depthwise 3-D conv kernels for backends whose tensor data can be read synchronously on the host
 * (cpu, wasm, tensorflow/tfjs-node, webgl): read the inputs, run the reference loops, hand the result
 * back to the backend. Correct everywhere, fast nowhere; the fast WebAssembly kernels replace these
 * for wasm by registering under the same names.
 */
import { Tensor3dError } from '../../errors.js';
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import {
  DepthwiseConv3D,
  DepthwiseConv3DBackpropFilter,
  DepthwiseConv3DBackpropInput,
  type DepthwiseConv3DAttrs,
  type DepthwiseConv3DBackpropFilterAttrs,
  type DepthwiseConv3DBackpropInputAttrs,
} from './kernel-names.js';
import { convOutSpatial } from './geometry.js';
import {
  depthwiseConv3dBackpropFilterReference,
  depthwiseConv3dBackpropInputReference,
  depthwiseConv3dReference,
  type Shape4,
  type Shape5,
} from './reference.js';

/** What these kernels need from a backend: synchronous reads and creating a tensor from values. */
interface ReadableBackend {
  readSync(dataId: object): unknown;
  makeTensorInfo(shape: number[], dtype: DataType, values: Float32Array): TensorInfo;
}

/**
 * Backend methods as found on the tfjs backends: cpu has `makeTensorInfo`, wasm `makeOutput`, and
 * tfjs-node at least `write`.
 */
interface BackendMethods {
  readSync?: (dataId: object) => unknown;
  makeTensorInfo?: (shape: number[], dtype: DataType, values?: Float32Array) => TensorInfo;
  makeOutput?: (shape: number[], dtype: DataType, memoryOffset?: number, values?: Float32Array) => TensorInfo;
  write?: (values: Float32Array, shape: number[], dtype: DataType) => object;
}

function asReadable(backend: unknown, kernel: string): ReadableBackend {
  const b = (backend ?? {}) as BackendMethods;
  const { readSync, makeTensorInfo, makeOutput, write } = b;
  if (typeof readSync === 'function') {
    if (typeof makeTensorInfo === 'function') {
      return { readSync: (id) => readSync.call(b, id), makeTensorInfo: (s, d, v) => makeTensorInfo.call(b, s, d, v) };
    }
    if (typeof makeOutput === 'function') {
      return {
        readSync: (id) => readSync.call(b, id),
        makeTensorInfo: (s, d, v) => makeOutput.call(b, s, d, undefined, v),
      };
    }
    // Older tfjs-node backends only have the generic KernelBackend.write.
    if (typeof write === 'function') {
      return {
        readSync: (id) => readSync.call(b, id),
        makeTensorInfo: (s, d, v) => ({ dataId: write.call(b, v, s, d), shape: s, dtype: d }),
      };
    }
  }
  throw new Tensor3dError(
    'BAD_ARGUMENT',
    `${kernel}: this backend cannot read tensor data synchronously (no readSync, or no makeTensorInfo/makeOutput/write)`,
  );
}

/** Reads a tensor as float32, converting other numeric dtypes. */
function readFloat32(backend: ReadableBackend, t: TensorInfo, kernel: string): Float32Array {
  const values = backend.readSync(t.dataId);
  if (values instanceof Float32Array) return values;
  if (ArrayBuffer.isView(values) || Array.isArray(values)) return Float32Array.from(values as ArrayLike<number>);
  throw new Tensor3dError('BAD_ARGUMENT', `${kernel}: cannot read a tensor of dtype '${t.dtype}' as float32`);
}

function attrsOf<T>(attrs: NamedAttrMap | undefined): T {
  return attrs as unknown as T;
}

const forward: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = asReadable(backend, DepthwiseConv3D);
  const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
  const { strides, pad } = attrsOf<DepthwiseConv3DAttrs>(attrs);
  const inShape = x.shape as unknown as Shape5;
  const filterShape = filter.shape as unknown as Shape4;
  const [od, oh, ow] = convOutSpatial(inShape.slice(1, 4), filterShape, strides, pad, DepthwiseConv3D);
  const outShape: Shape5 = [inShape[0], od, oh, ow, inShape[4]];
  const values = depthwiseConv3dReference(
    readFloat32(b, x, DepthwiseConv3D),
    inShape,
    readFloat32(b, filter, DepthwiseConv3D),
    filterShape,
    outShape,
    strides,
    pad,
  );
  return b.makeTensorInfo([...outShape], 'float32', values);
};

const backpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = asReadable(backend, DepthwiseConv3DBackpropInput);
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, inputShape } = attrsOf<DepthwiseConv3DBackpropInputAttrs>(attrs);
  const values = depthwiseConv3dBackpropInputReference(
    readFloat32(b, dy, DepthwiseConv3DBackpropInput),
    dy.shape as unknown as Shape5,
    readFloat32(b, filter, DepthwiseConv3DBackpropInput),
    filter.shape as unknown as Shape4,
    inputShape,
    strides,
    pad,
  );
  return b.makeTensorInfo([...inputShape], 'float32', values);
};

const backpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = asReadable(backend, DepthwiseConv3DBackpropFilter);
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, filterShape } = attrsOf<DepthwiseConv3DBackpropFilterAttrs>(attrs);
  const values = depthwiseConv3dBackpropFilterReference(
    readFloat32(b, x, DepthwiseConv3DBackpropFilter),
    x.shape as unknown as Shape5,
    readFloat32(b, dy, DepthwiseConv3DBackpropFilter),
    dy.shape as unknown as Shape5,
    filterShape,
    strides,
    pad,
  );
  return b.makeTensorInfo([...filterShape], 'float32', values);
};

/** The three reference kernels as tfjs kernel configs for one backend. */
export function readbackKernelConfigs(backendName: string): KernelConfig[] {
  return [
    { kernelName: DepthwiseConv3D, backendName, kernelFunc: forward },
    { kernelName: DepthwiseConv3DBackpropInput, backendName, kernelFunc: backpropInput },
    { kernelName: DepthwiseConv3DBackpropFilter, backendName, kernelFunc: backpropFilter },
  ];
}
