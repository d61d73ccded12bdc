/**
 * Training data on disk (Node only): the preprocessing cache, dataset discovery and `mednext preprocess`
 * as a library.
 */
// The on-disk preprocessing cache.
export {
  caseMetaPath,
  DATASET_FILE,
  type DatasetDescription,
  isCaseCached,
  listCachedCaseIds,
  type LoadedCase,
  readCachedCase,
  readCaseMeta,
  readDatasetDescription,
  writeCachedCase,
  writeFileAtomic,
} from './cache.js';
// Discovery of BraTS case folders under one or more dataset roots.
export { type DatasetRoot, discoverCases, type DiscoveredCase, parseRoot } from './discover.js';
// `mednext preprocess` as a library.
export {
  preprocessDataset,
  preprocessOneCase,
  type PreprocessOptions,
  type PreprocessProgress,
  type PreprocessSummary,
  REPAIR_NON_FINITE_FLAG,
} from './preprocess.js';
