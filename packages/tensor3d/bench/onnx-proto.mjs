/**
 * A tiny hand-written ONNX (protobuf) encoder: just enough to build one-node models (Conv, ConvTranspose, Gelu)
 * for the benchmark's onnxruntime comparison, without a protobuf dependency.
 * Field numbers are those of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
 * ValueInfoProto, TypeProto, TensorShapeProto).
 */

import { Buffer } from 'node:buffer';

function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}

const key = (field, wire) => varint((field << 3) | wire);
const bytesField = (field, bytes) => [...key(field, 2), ...varint(bytes.length), ...bytes];
const str = (field, s) => bytesField(field, [...Buffer.from(s, 'utf8')]);
const int = (field, n) => [...key(field, 0), ...varint(n)];
const packedInts = (field, ns) =>
  bytesField(
    field,
    ns.flatMap((n) => varint(n)),
  );

/** AttributeProto: INT (type 2) or INTS (type 7). */
function attribute(name, value) {
  if (Array.isArray(value)) return [...str(1, name), ...value.flatMap((v) => int(8, v)), ...int(20, 7)];
  return [...str(1, name), ...int(3, value), ...int(20, 2)];
}

let nodeCount = 0;

/** AttributeProto FLOAT (type 1). */
function floatAttribute(name, value) {
  const f = new Uint8Array(new Float32Array([value]).buffer);
  return [...str(1, name), ...key(2, 5), ...f, ...int(20, 1)];
}

function node(op, inputs, outputs, attrs = {}, domain = '') {
  return [
    ...inputs.flatMap((i) => str(1, i)),
    ...outputs.flatMap((o) => str(2, o)),
    ...str(3, `${op}_${nodeCount++}`),
    ...str(4, op),
    ...Object.entries(attrs).flatMap(([k, v]) =>
      bytesField(5, typeof v === 'object' && !Array.isArray(v) ? floatAttribute(k, v.float) : attribute(k, v)),
    ),
    ...(domain ? str(7, domain) : []),
  ];
}

/** float32 initializer with raw data. */
function tensor(name, dims, data) {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return [...packedInts(1, dims), ...int(2, 1), ...str(8, name), ...bytesField(9, Array.from(raw))];
}

function valueInfo(name, dims) {
  const shape = dims.flatMap((d) => bytesField(1, int(1, d)));
  const tensorType = [...int(1, 1), ...bytesField(2, shape)];
  return [...str(1, name), ...bytesField(2, bytesField(1, tensorType))];
}

/**
 * A model with one node `op(x, ...initializers) -> y`.
 * @param {{op: string, attrs?: object, domain?: string, x: number[], y: number[], inits?: {name: string, dims: number[], data: Float32Array}[]}} spec
 */
export function oneNodeModel(spec) {
  const inits = spec.inits ?? [];
  const graph = [
    ...bytesField(1, node(spec.op, ['x', ...inits.map((i) => i.name)], ['y'], spec.attrs, spec.domain)),
    ...str(2, 'g'),
    ...inits.flatMap((i) => bytesField(5, tensor(i.name, i.dims, i.data))),
    ...bytesField(11, valueInfo('x', spec.x)),
    ...bytesField(12, valueInfo('y', spec.y)),
  ];
  const opsets = [bytesField(8, [...str(1, ''), ...int(2, 17)])];
  if (spec.domain) opsets.push(bytesField(8, [...str(1, spec.domain), ...int(2, 1)]));
  return new Uint8Array([...int(1, 8), ...opsets.flat(), ...bytesField(7, graph)]);
}

/**
 * A model with several nodes. Graph input `x`, output `y`.
 * @param {{nodes: {op: string, inputs: string[], outputs: string[], attrs?: object, domain?: string}[],
 *   inits: {name: string, dims: number[], data: Float32Array}[], x: number[], y: number[]}} spec
 */
export function graphModel(spec) {
  const graph = [
    ...spec.nodes.flatMap((n) => bytesField(1, node(n.op, n.inputs, n.outputs, n.attrs, n.domain))),
    ...str(2, 'g'),
    ...spec.inits.flatMap((i) => bytesField(5, tensor(i.name, i.dims, i.data))),
    ...bytesField(11, valueInfo('x', spec.x)),
    ...bytesField(12, valueInfo('y', spec.y)),
  ];
  const domains = [...new Set(spec.nodes.map((n) => n.domain).filter(Boolean))];
  const opsets = [
    bytesField(8, [...str(1, ''), ...int(2, 17)]),
    ...domains.map((d) => bytesField(8, [...str(1, d), ...int(2, 1)])),
  ];
  return new Uint8Array([...int(1, 8), ...opsets.flat(), ...bytesField(7, graph)]);
}
