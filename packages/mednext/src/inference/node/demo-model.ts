/**
 * The small demo model shipped with the package (trained on phantoms; see the repository README, "The shipped demo model").
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { MedNeXtError } from '../../errors.js';

/** What `models/demo/demo.json` records next to the weights. */
export interface DemoModelInfo {
  /** Weights file name, relative to the demo folder. */
  weights: string;
  /** Task the model predicts (adult labels: `ssa`). */
  task: string;
  /** Phantom grid the model was trained on; demo phantoms use the same. */
  phantom: {
    shape: [number, number, number];
    spacing: [number, number, number];
    variants: string[];
    firstSeed: number;
    count: number;
  };
  /** The commands that reproduce the model. */
  commands: string[];
  /** Validation result of training, for the record. */
  validation?: Record<string, unknown>;
}

/** Folder of the shipped demo model (`packages/mednext/models/demo`). */
export function demoModelDir(): string {
  // dist/inference/node/demo-model.js -> package root
  return fileURLToPath(new URL('../../../models/demo/', import.meta.url));
}

/** Reads the demo model's description; the error says how to rebuild it when it is missing. */
export async function readDemoModelInfo(dir = demoModelDir()): Promise<DemoModelInfo & { weightsPath: string }> {
  const file = `${dir}demo.json`;
  let info: DemoModelInfo;
  try {
    info = JSON.parse(await readFile(file, 'utf8')) as DemoModelInfo;
  } catch (error) {
    throw new MedNeXtError(
      'CHECKPOINT_UNREADABLE',
      `${file}: the demo model is missing or unreadable (${(error as Error).message}); see "The shipped demo model" in the repository README to rebuild it`,
      { file: file, cause: error },
    );
  }
  return { ...info, weightsPath: `${dir}${info.weights}` };
}
