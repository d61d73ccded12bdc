/**
 * @mednext-ts/metrics: lesion-wise segmentation metrics under evaluation protocols: the BraTS 2024
 * presets (SSA and PED)
 * reproducing the official evaluation code's numbers, quirks included, with an opt-in
 * `corrected` variant. See README.md and `shared/spec/brats-metrics.md`.
 *
 * The entry lists its exports explicitly; the bounding-box helpers (`box.ts`) are internal.
 *
 * @example
 * import { evaluateCase, getBratsProtocol } from '@mednext-ts/metrics';
 */
// Evaluation protocols: regions, lesion sizes and scores, defined once per task.
export {
  defineEvaluationProtocol,
  type EvaluationProtocol,
  EvaluationProtocolError,
  type LesionSize,
  type LesionSizeUnit,
  type ProtocolRegion,
  protocolScore,
  regionProtocol,
  type RegionProtocolOptions,
  type ScoreKind,
} from './protocol.js';
// The BraTS 2024 evaluation protocols (SSA and PED) and their regions.
export {
  BRATS_2024_PED,
  BRATS_2024_PROTOCOLS,
  BRATS_2024_SSA,
  type BratsProtocol,
  type BratsRegionName,
  getBratsProtocol,
  getTask,
  PED_REGIONS,
  type RegionName,
  SSA_REGIONS,
  type TaskDefinition,
  type TaskName,
  TASKS,
} from './tasks.js';
// Binary region masks from label maps.
export { regionMask } from './regions.js';
// Building lesions from a binary region mask, as the official BraTS 2024 code does (spec §4).
export {
  groupByDilation,
  type LesionMap,
  mergeEtThroughNetc,
  removeSmallLesions,
  renumberConsecutive,
  touchingPairs,
} from './lesions.js';
// Lesion-wise matching and scores (spec §5).
export { type LesionMatch, matchLesions, type RegionMatching } from './lesion-wise.js';
// Whole-region ("legacy") values of the official evaluation (spec §6).
export {
  diceFromCounts,
  legacyDice,
  legacyHd95,
  regionCounts,
  type RegionCounts,
  sensitivitySpecificity,
  sensSpecFromCounts,
} from './whole-region.js';
// `evaluateCase`: one case's metrics under a protocol.
export {
  type CaseMetrics,
  evaluateCase,
  type EvaluateCaseInput,
  type LabelVolume,
  type LesionRow,
  type RegionMetrics,
} from './evaluate.js';
// Tabular output of case results (CSV columns, summaries, the Synapse layout).
export {
  formatMetric,
  summarize,
  type Summary,
  SUMMARY_METRICS,
  SYNAPSE_METRICS,
  synapseColumns,
  synapseCsv,
  synapseRow,
} from './report.js';
// Pairing GT and prediction files by BraTS case ID.
export { caseIdOf, type CasePairs, pairCases } from './pairing.js';
