/**
 * The public surface of `@mednext-ts/mednext`: every folder index lists its exports by name, and the
 * entries export what users and plugin authors need but not the engines' internals.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as root from '../src/index.js';
import * as node from '../src/node.js';
import * as tasks from '../src/tasks/index.js';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

/** Every `index.ts` under `dir`, plus the `node.ts` entry, relative to `src`. */
function entryFiles(dir = SRC): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...entryFiles(full));
    else if (entry.name === 'index.ts' || (dir === SRC && entry.name === 'node.ts'))
      found.push(path.relative(SRC, full));
  }
  return found;
}

/** The specifiers of a file's `export * from '...'` lines (not `export * as name`). */
function starExports(file: string): string[] {
  const text = readFileSync(path.join(SRC, file), 'utf8');
  return [...text.matchAll(/^export \* from '([^']+)';/gm)].map((m) => m[1]!);
}

/** Internals that must stay out of every entry: engine heaps, fused/lean training blocks, protobuf writer, file-format readers, helpers. */
const INTERNALS = [
  // engines and training blocks
  'HostNetwork',
  'add5Lean',
  'ProtoWriter',
  'runFusedBlock',
  'fusedTailUsable',
  // the GPU trainer's parts
  'webGpuNetworkOn',
  'parameterGradients',
  'TrainedParameters',
  'recordBatchedLoss',
  'recordBackwards',
  'hostLossGradients',
  'runBlockTrain',
  'leanCustomGrad',
  // weights: the readers behind readPth / parseWeights
  'openZip',
  'unpickle',
  'PyDict',
  'PyGlobal',
  'PyObject',
  'PyTuple',
  'shapeSize',
  'stripModulePrefix',
  'stripPrefix',
  'findNetworkPrefix',
  'transposeHeads',
  'linearResizeMatrix',
  // task validation helpers (validateTask / defineTask report these problems)
  'namingProblem',
  'postprocessStepProblem',
  // data, losses, demo and seed-paper building blocks
  'regionMaskTable',
  'nearestIndices',
  'adler32',
  'zlibStored',
  'edgeLetters',
  'monaiWindowStarts',
  'monaiGaussianImportanceMap',
  'seedIntensityCast',
  'normalizeNonZeroChannel',
  'seedThreshold',
  'seedComponentFilter',
];

describe('mednext entries', () => {
  it('folder indexes list their exports by name; only the root entries re-export whole folder indexes', () => {
    const files = entryFiles();
    expect(files).toEqual(expect.arrayContaining(['index.ts', 'node.ts', 'tasks/index.ts', 'weights/index.ts']));
    for (const file of files) {
      const stars = starExports(file);
      if (file === 'index.ts' || file === 'node.ts') {
        expect(stars.length, file).toBeGreaterThan(0);
        for (const spec of stars)
          expect(spec, `${file} re-exports a file, not a folder index`).toMatch(/^\.\/[\w/-]+\/index\.js$/);
      } else {
        expect(stars, `${file} has export *`).toEqual([]);
      }
    }
  });

  it('the root entry exports the main public names and none of the internals', () => {
    const publicNames = [
      'MedNeXt',
      'walkMedNeXt',
      'planForward',
      'createWebGpuNetwork',
      'createWebGpuTrainer',
      'segmentCase',
      'defineTask',
      'MedNeXtError',
      'isMedNeXtError',
      'parseWeights',
      'readPth',
      'readStateDict',
      'upkernLoad',
      'resampleKernel',
      'postprocessRegions',
      'downsampleTarget',
      'seedPreprocess',
      'seedPostprocess',
      'ensembleProbabilities',
      'withMirrorTTA',
      'encodePng',
      'renderOverlay',
      'decodeCheckpoint',
    ];
    for (const name of publicNames) expect(typeof (root as Record<string, unknown>)[name], name).not.toBe('undefined');
    const leaked = INTERNALS.filter((name) => name in root);
    expect(leaked).toEqual([]);
  });

  it('the node entry exports the file-based parts and none of the internals', () => {
    for (const name of [
      'trainFold',
      'loadInferenceModel',
      'readCheckpointFile',
      'writeCheckpointFile',
      'readWeightsFile',
      'discoverCases',
      'preprocessDataset',
    ]) {
      expect(typeof (node as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(INTERNALS.filter((name) => name in node)).toEqual([]);
  });

  it('the tasks entry exports the plugin API and not the validation helpers', () => {
    for (const name of [
      'defineTask',
      'TaskRegistry',
      'registerNormalization',
      'registerPostprocessStep',
      'NamedRegistry',
    ]) {
      expect(typeof (tasks as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(INTERNALS.filter((name) => name in tasks)).toEqual([]);
  });
});
