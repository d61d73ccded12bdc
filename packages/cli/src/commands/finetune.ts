import { existsSync, statSync } from 'node:fs';
import { Command, Flags } from '@oclif/core';
import {
  readCheckpointMetadata,
  type MedNeXtConfig,
  type TrainingCheckpointInfo,
  type TrainingSettings,
} from '@mednext-ts/mednext';
import { RunFiles, readCheckpointFile, readDatasetDescription, type CheckpointChoice } from '@mednext-ts/mednext/node';
import { findTask } from '../lib/inference/runtime.js';
import { optionsFromFlags, runFolds, settingsFromFlags, setupTrainingEngine, trainingFlags } from '../lib/training.js';

/** `mednext finetune`: continue training the last decoder layers of a trained model. */
export default class Finetune extends Command {
  static override summary = 'Fine-tune the last decoder layers of trained folds.';

  static override description =
    "Fine-tune trained models: load each fold's checkpoint and train only the last N decoder layers (up and decoder " +
    'blocks, counted from the output) and the deep-supervision heads, optionally re-initialising them first. The SSA ' +
    'recipe: pre-train on adult glioma + SSA, then fine-tune the last 10 decoder layers on SSA only (--sources ssa). ' +
    "Uses the pre-training run's splits.json so validation cases stay unseen. Other flags as mednext train.";

  static override examples = [
    '<%= config.bin %> finetune --from runs/ssa-B --data /data/cache-ssa --out runs/ssa-B-ft --sources ssa --train-last 10 --reinit',
    '<%= config.bin %> finetune --from runs/ssa-B/fold_0/checkpoint_last.safetensors --data /data/cache-ssa --out runs/ft --fold 0',
  ];

  static override flags = {
    ...trainingFlags,
    from: Flags.string({
      description:
        'a run folder of mednext train (uses fold_<n>/checkpoint_<which>.safetensors per fold) or one checkpoint file',
      required: true,
    }),
    checkpoint: Flags.string({
      description: 'which checkpoint of a run folder',
      options: ['last', 'best'],
      default: 'last',
    }),
    'train-last': Flags.integer({
      description: 'decoder layers to train, counted from the output (default: task, 10)',
      min: 0,
    }),
    reinit: Flags.boolean({ description: 're-initialise the trained layers first (default: task)', allowNo: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Finetune);
    const dataset = await readDatasetDescription(flags.data);
    const fromDir = existsSync(flags.from) && statSync(flags.from).isDirectory();
    const fromRun = new RunFiles(flags.from);
    const choice = flags.checkpoint as CheckpointChoice;
    const checkpointFor = (fold: number) => (fromDir ? fromRun.fold(fold)[choice] : flags.from);
    const probe = fromDir ? checkpointFor(flags.fold === 'all' ? 0 : Number(flags.fold)) : flags.from;
    if (!existsSync(probe)) this.error(`${probe}: checkpoint not found`);
    let config: MedNeXtConfig;
    let info: TrainingCheckpointInfo;
    try {
      ({ config, info } = readCheckpointMetadata((await readCheckpointFile(probe)).weights.metadata, probe));
    } catch (error) {
      this.error((error as Error).message);
    }
    const task = await findTask(this.config, flags.task ?? info.task);
    if (dataset.task !== task.id)
      this.error(`${flags.data} was preprocessed for task '${dataset.task}', not '${task.id}'`);
    let settings: TrainingSettings;
    try {
      // The checkpoint's patch size takes the recipe's place: flag > checkpoint > recipe.
      settings = settingsFromFlags(flags, { ...task.training, patchSize: info.patchSize });
    } catch (error) {
      this.error((error as Error).message);
    }
    const { trainLast, reinit } = settings;
    const engine = await setupTrainingEngine(this, flags, settings.optimizer);
    const base = { ...optionsFromFlags(flags, task, config, settings), engine: engine.engine, device: engine.device };
    if (!flags.splits && fromDir && existsSync(fromRun.splits)) base.splitsFile = fromRun.splits;
    if (!flags.quiet) {
      this.logToStderr(
        `fine-tuning the last ${trainLast} decoder layers + heads${reinit ? ' (re-initialised)' : ''} of ${flags.from}` +
          `${base.sources ? ` on sources ${base.sources.join(', ')}` : ''}; ${base.epochs} epochs x ${base.iterationsPerEpoch}, lr ${base.learningRate}`,
      );
    }
    try {
      await runFolds(
        this,
        base,
        flags.fold,
        (fold) => ({ kind: 'checkpoint', path: checkpointFor(fold), trainLast, reinit }),
        flags.quiet,
        { foldsRequested: flags['num-folds'], overwrite: flags.overwrite },
      );
    } finally {
      engine.release();
    }
  }
}
