/** Node helpers of inference: case inputs, outputs, checkpoints, the bundled demo model. */
export { loadInferenceModel } from './checkpoint.js';
export { loadCaseInput, resolveCaseInputs, type CaseInput } from './inputs.js';
export {
  probabilityFileName,
  readProbabilities,
  segmentationFileName,
  writeProbabilities,
  writeSegmentation,
  type ProbabilityFormat,
  type ProbabilitySidecar,
} from './outputs.js';
export { demoModelDir, readDemoModelInfo, type DemoModelInfo } from './demo-model.js';
