/**
 * A small helper to assemble an ONNX graph node by node: unique value names, shared constants,
 * and the attribute boilerplate of the few operators a MedNeXt export uses.
 */
import { OnnxDataType, type OnnxAttributeValue, type OnnxNode, type OnnxTensor } from '../../../export/onnx-proto.js';

/** Attributes of an ONNX Conv / ConvTranspose over 3 spatial axes. */
export interface Conv3dAttrs {
  kernel: number;
  stride: number;
  pad: number;
  group: number;
}

/** Accumulates nodes and initializers; every `op` call returns the name of its (single) output. */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  /** A fresh value name derived from `hint` (kept readable: `enc_block_0.0/conv1`). */
  fresh(hint: string): string {
    let name = hint;
    while (this.names.has(name)) name = `${hint}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  /** Adds a float32 initializer under exactly `name` (an official state-dict name, say). */
  addFloat(name: string, dims: number[], data: Float32Array): string {
    if (this.names.has(name)) throw new Error(`ONNX export: duplicate initializer '${name}'`);
    this.names.add(name);
    this.initializers.push({ name, dataType: OnnxDataType.FLOAT, dims, data });
    return name;
  }

  private readonly constants = new Map<string, string>();

  /** A float32 scalar constant, created once per value. */
  scalar(value: number): string {
    const key = `f:${value}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh(`const_${value}`);
      this.initializers.push({ name, dataType: OnnxDataType.FLOAT, dims: [], data: new Float32Array([value]) });
      this.constants.set(key, name);
    }
    return name;
  }

  /** An int64 vector constant, created once per value. */
  int64s(values: number[], hint: string): string {
    const key = `i:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh(hint);
      this.initializers.push({ name, dataType: OnnxDataType.INT64, dims: [values.length], data: [...values] });
      this.constants.set(key, name);
    }
    return name;
  }

  /** Appends a node with one output named after `hint`; returns that output name. */
  op(opType: string, inputs: string[], hint: string, attributes?: Record<string, OnnxAttributeValue>): string {
    const out = this.fresh(hint);
    this.nodes.push({ opType, inputs, outputs: [out], name: out, attributes });
    return out;
  }

  /** Conv or ConvTranspose with cubic kernel, equal stride and symmetric padding on the 3 spatial axes. */
  conv(
    opType: 'Conv' | 'ConvTranspose',
    x: string,
    weight: string,
    bias: string | null,
    a: Conv3dAttrs,
    hint: string,
  ): string {
    const three = (v: number): number[] => [v, v, v];
    return this.op(opType, bias ? [x, weight, bias] : [x, weight], hint, {
      kernel_shape: { type: 'ints', value: three(a.kernel) },
      strides: { type: 'ints', value: three(a.stride) },
      pads: { type: 'ints', value: [...three(a.pad), ...three(a.pad)] },
      dilations: { type: 'ints', value: three(1) },
      group: { type: 'int', value: a.group },
    });
  }
}
