/** ONNX export of MedNeXt networks (hand-written protobuf, no dependency). */
export * from './mednext-onnx.js';
export {
  encodeOnnxModel,
  OnnxDataType,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
  type OnnxAttributeValue,
} from './onnx-proto.js';
export { ProtoWriter } from './protobuf.js';
