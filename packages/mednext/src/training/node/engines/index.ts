/**
 * The training engines by name (`TrainOptions.engine`, `mednext train --backend`): the one place that maps a name
 * to its implementation, nnU-Net style. The stages only see {@link TrainingEngine}.
 */
import { MedNeXtError } from '../../../errors.js';
import type { EngineSetup } from './setup.js';
import { TfjsTrainingEngine } from './tfjs.js';
import type { TrainingEngine, TrainingEngineName } from './types.js';
import { checkWebGpuSettings, WebGpuTrainingEngine } from './webgpu.js';

export type { EngineSetup } from './setup.js';
export type { EngineStepReport, TrainingEngine, TrainingEngineName } from './types.js';
export { TfjsTrainingEngine } from './tfjs.js';
export { checkWebGpuSettings, WebGpuTrainingEngine } from './webgpu.js';

/** Each engine: a settings check (before anything is written or allocated) and its constructor. */
const TRAINING_ENGINES: Record<
  TrainingEngineName,
  { check: (options: { optimizer: string }) => void; create: (setup: EngineSetup) => Promise<TrainingEngine> }
> = {
  tfjs: { check: () => undefined, create: async (setup) => new TfjsTrainingEngine(setup) },
  webgpu: { check: checkWebGpuSettings, create: (setup) => WebGpuTrainingEngine.create(setup) },
};

function entry(name: string): (typeof TRAINING_ENGINES)[TrainingEngineName] {
  const found = TRAINING_ENGINES[name as TrainingEngineName];
  if (!found)
    throw new MedNeXtError(
      'TRAINING_SETTING',
      `unknown training engine '${name}' (known: ${Object.keys(TRAINING_ENGINES).join(', ')})`,
    );
  return found;
}

/**
 * Checks that the run's settings suit engine `name`.
 * @throws MedNeXtError `TRAINING_SETTING` when they do not (e.g. AdamW with a schedule on webgpu), or for an
 *   unknown engine
 */
export function checkEngineSettings(name: string, options: { optimizer: string }): void {
  entry(name).check(options);
}

/**
 * Builds engine `name` on the initialised model of `setup` (what `trainFold` does for `options.engine`).
 *
 * @example
 * ```ts
 * const engine = await createTrainingEngine('webgpu', { options, model, trainable, deepSupervision: true,
 *   lossFn: lossByName('dice-focal'), modalities: 4, regions: 3 });
 * engine.train();
 * const { loss, gpuIdleMs, peakBytes } = await engine.step(await pool.take(), { epoch: 0, iteration: 0 });
 * engine.eval();
 * await engine.syncModel(); // the model now holds Schedule-Free's x: write a checkpoint from it
 * engine.dispose();
 * ```
 * @throws MedNeXtError `TRAINING_SETTING` for an unknown engine or settings it cannot run
 */
export function createTrainingEngine(name: string, setup: EngineSetup): Promise<TrainingEngine> {
  const { check, create } = entry(name);
  check(setup.options);
  return create(setup);
}
