/**
 * The subset of the ONNX protobuf schema (onnx/onnx.proto, IR version 8) that a convolutional network
 * needs, as plain TypeScript objects, and their serialisation with {@link ProtoWriter}. Field numbers
 * are those of the official schema; only float32 and int64 tensors are supported.
 */
import { ProtoWriter } from './protobuf.js';

/** ONNX `TensorProto.DataType` values used here. */
export const OnnxDataType = { FLOAT: 1, INT64: 7 } as const;
export type OnnxDataType = (typeof OnnxDataType)[keyof typeof OnnxDataType];

/** A constant tensor (graph initializer). */
export type OnnxTensor =
  | { name: string; dataType: typeof OnnxDataType.FLOAT; dims: number[]; data: Float32Array }
  | { name: string; dataType: typeof OnnxDataType.INT64; dims: number[]; data: number[] };

/** A node attribute: int, float, string, ints or floats (the kinds convolution ops use). */
export type OnnxAttributeValue =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] };

/** One operator application. */
export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attributes?: Record<string, OnnxAttributeValue>;
}

/** A graph input/output: float32 tensor with fixed sizes (numbers) or symbolic ones (strings). */
export interface OnnxValueInfo {
  name: string;
  elemType: OnnxDataType;
  shape: Array<number | string>;
}

/** A whole model: one graph, one opset of the default domain. */
export interface OnnxModel {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  /** Key/value pairs stored in `metadata_props`. */
  metadata?: Record<string, string>;
  graph: {
    name: string;
    nodes: OnnxNode[];
    initializers: OnnxTensor[];
    inputs: OnnxValueInfo[];
    outputs: OnnxValueInfo[];
  };
}

// Field numbers of onnx.proto.
const MODEL = {
  irVersion: 1,
  producerName: 2,
  producerVersion: 3,
  docString: 6,
  graph: 7,
  opsetImport: 8,
  metadata: 14,
};
const OPSET = { domain: 1, version: 2 };
const GRAPH = { node: 1, name: 2, initializer: 5, input: 11, output: 12 };
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5 };
const ATTR = { name: 1, f: 2, i: 3, s: 4, floats: 7, ints: 8, type: 20 };
const ATTR_TYPE = { float: 1, int: 2, string: 3, floats: 6, ints: 7 } as const;
const TENSOR = { dims: 1, dataType: 2, int64Data: 7, name: 8, rawData: 9 };
const VALUE_INFO = { name: 1, type: 2 };
const TYPE = { tensorType: 1 };
const TENSOR_TYPE = { elemType: 1, shape: 2 };
const SHAPE = { dim: 1 };
const DIM = { value: 1, param: 2 };
const STRING_ENTRY = { key: 1, value: 2 };

function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  w.packedInt64Field(TENSOR.dims, t.dims);
  w.intField(TENSOR.dataType, t.dataType);
  w.stringField(TENSOR.name, t.name);
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) {
    throw new Error(`ONNX tensor '${t.name}': ${t.data.length} values for dims [${t.dims.join(', ')}] (${count})`);
  }
  if (t.dataType === OnnxDataType.FLOAT) {
    // raw_data is little-endian; copy so an unaligned or big-endian host view cannot leak in.
    const raw = new Uint8Array(t.data.length * 4);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < t.data.length; i++) view.setFloat32(i * 4, t.data[i], true);
    w.bytesField(TENSOR.rawData, raw);
  } else {
    w.packedInt64Field(TENSOR.int64Data, t.data);
  }
}

function writeAttribute(w: ProtoWriter, name: string, a: OnnxAttributeValue): void {
  w.stringField(ATTR.name, name);
  switch (a.type) {
    case 'int':
      w.intField(ATTR.i, a.value);
      break;
    case 'float':
      w.floatField(ATTR.f, a.value);
      break;
    case 'string':
      w.stringField(ATTR.s, a.value);
      break;
    case 'ints':
      w.packedInt64Field(ATTR.ints, a.value);
      break;
    case 'floats':
      w.packedFloatField(ATTR.floats, a.value);
      break;
  }
  w.intField(ATTR.type, ATTR_TYPE[a.type]);
}

function writeNode(w: ProtoWriter, n: OnnxNode): void {
  for (const i of n.inputs) w.stringField(NODE.input, i);
  for (const o of n.outputs) w.stringField(NODE.output, o);
  if (n.name) w.stringField(NODE.name, n.name);
  w.stringField(NODE.opType, n.opType);
  for (const [name, a] of Object.entries(n.attributes ?? {})) {
    w.messageField(NODE.attribute, (aw) => writeAttribute(aw, name, a));
  }
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.stringField(VALUE_INFO.name, v.name);
  w.messageField(VALUE_INFO.type, (tw) =>
    tw.messageField(TYPE.tensorType, (tt) => {
      tt.intField(TENSOR_TYPE.elemType, v.elemType);
      tt.messageField(TENSOR_TYPE.shape, (sw) => {
        for (const d of v.shape) {
          sw.messageField(SHAPE.dim, (dw) => {
            if (typeof d === 'number') dw.intField(DIM.value, d);
            else dw.stringField(DIM.param, d);
          });
        }
      });
    }),
  );
}

/** Serialises a model to the bytes of an `.onnx` file. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const w = new ProtoWriter(1 << 16);
  w.intField(MODEL.irVersion, model.irVersion);
  w.stringField(MODEL.producerName, model.producerName);
  w.stringField(MODEL.producerVersion, model.producerVersion);
  if (model.docString) w.stringField(MODEL.docString, model.docString);
  w.messageField(MODEL.graph, (gw) => {
    for (const n of model.graph.nodes) gw.messageField(GRAPH.node, (nw) => writeNode(nw, n));
    gw.stringField(GRAPH.name, model.graph.name);
    for (const t of model.graph.initializers) gw.messageField(GRAPH.initializer, (tw) => writeTensor(tw, t));
    for (const v of model.graph.inputs) gw.messageField(GRAPH.input, (vw) => writeValueInfo(vw, v));
    for (const v of model.graph.outputs) gw.messageField(GRAPH.output, (vw) => writeValueInfo(vw, v));
  });
  // Default domain (empty string) at the requested opset.
  w.messageField(MODEL.opsetImport, (ow) => {
    ow.stringField(OPSET.domain, '');
    ow.intField(OPSET.version, model.opsetVersion);
  });
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    w.messageField(MODEL.metadata, (mw) =>
      mw.stringField(STRING_ENTRY.key, key).stringField(STRING_ENTRY.value, value),
    );
  }
  return w.finish().slice();
}
