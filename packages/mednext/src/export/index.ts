/**
 * ONNX export of MedNeXt networks (opset 17, NCDHW; hand-written protobuf, no dependency).
 *
 * @example
 * ```ts
 * import { modelToOnnx } from '@mednext-ts/mednext';
 * await writeFile('model.onnx', modelToOnnx(model, { spatialShape: [128, 128, 128], batchSize: 1 }));
 * ```
 */
export {
  ONNX_INPUT_NAME,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  ONNX_OUTPUT_NAMES,
  buildMedNeXtOnnx,
  mednextToOnnx,
  modelToOnnx,
  type OnnxExportOptions,
} from './mednext-onnx.js';
export {
  encodeOnnxModel,
  OnnxDataType,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
  type OnnxAttributeValue,
} from './onnx-proto.js';
