import { Command, Flags } from '@oclif/core';
import type { PresetName, TrainingSettings } from '@mednext-ts/mednext';
import { readCheckpointFile, readDatasetDescription } from '@mednext-ts/mednext/node';
import { findTask } from '../lib/inference/runtime.js';
import {
  modelForTask,
  optionsFromFlags,
  runFolds,
  settingsFromFlags,
  setupTrainingEngine,
  trainingFlags,
} from '../lib/training.js';

/** `mednext train`: cross-validated training from a preprocessed cache. */
export default class Train extends Command {
  static override summary = 'Train MedNeXt folds on a preprocessed cache.';

  static override description =
    'Train MedNeXt on a preprocessed cache with k-fold cross-validation (splits.json, stratified by source, from --seed). ' +
    'Patches are sampled with 1/3 foreground oversampling and augmented (flips, intensity scale/shift, rotation/scaling, ' +
    'noise, blur, gamma, low resolution); the loss is batch Dice + focal (or Dice + BCE) with deep supervision; the ' +
    'optimiser is Schedule-Free AdamW (train()/eval() around validation and checkpoints) or AdamW with a poly/cosine ' +
    'schedule. Each fold writes checkpoint_{best,last}.safetensors (weights + metadata: task, regions, channel order, ' +
    'patch size, normalisation), checkpoint_last.resume.safetensors (for --resume, which continues exactly), log.jsonl ' +
    'and progress.svg. With --backend webgpu (or auto on a GPU machine) the steps and validation run on the GPU ' +
    'trainer (Schedule-Free AdamW), writing the same files; the log then also records GPU idle time and peak GPU ' +
    'memory. Defaults come from the task recipe (mednext tasks).';

  static override examples = [
    '<%= config.bin %> train --task ssa --data /data/cache-ssa --out runs/ssa-B --fold all',
    '<%= config.bin %> train --task ped --data /data/cache-ped --out runs/ped-B --fold 0 --lr 0.0005 --epochs 75',
    '<%= config.bin %> train --data /data/cache-ssa --out runs/ssa-B --resume',
    '<%= config.bin %> train --task ssa --data /data/cache-ssa --out runs/ssa-B --fold 0 --backend webgpu',
    '<%= config.bin %> train --data /data/cache-ssa --out runs/ssa-B-k5 --kernel 5 --init-from runs/ssa-B/fold_0/checkpoint_last.safetensors --fold 0',
  ];

  static override flags = {
    ...trainingFlags,
    preset: Flags.string({ description: 'MedNeXt size (default: task)', options: ['S', 'B', 'M', 'L'] }),
    kernel: Flags.integer({ description: 'depthwise kernel size, 3, 5 or 7 (default: task)', min: 3, max: 7 }),
    'init-from': Flags.string({
      description:
        'initialise from a checkpoint; with a larger --kernel than the checkpoint, its kernels are UpKern-resampled',
    }),
    width: Flags.integer({
      description: 'base channel width n_channels (default: the preset, 32)',
      min: 1,
      hidden: true,
    }),
    blocks: Flags.integer({
      description: 'blocks per stage for every stage (default: the preset)',
      min: 1,
      hidden: true,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Train);
    const dataset = await readDatasetDescription(flags.data);
    const task = await findTask(this.config, flags.task ?? dataset.task);
    if (dataset.task !== task.id)
      this.error(`${flags.data} was preprocessed for task '${dataset.task}', not '${task.id}'`);
    let settings: TrainingSettings;
    try {
      settings = settingsFromFlags(flags, task.training);
    } catch (error) {
      this.error((error as Error).message);
    }
    const kernel = settings.kernelSize;
    if (kernel % 2 !== 1) this.error(`--kernel ${kernel}: must be odd (3, 5 or 7)`);
    let model = modelForTask(task, settings.preset as PresetName, kernel, settings.deepSupervision);
    if (flags.width) model = { ...model, n_channels: flags.width };
    if (flags.blocks) model = { ...model, block_counts: Array(9).fill(flags.blocks) };
    let init: { kind: 'upkern'; path: string } | { kind: 'checkpoint'; path: string } | undefined;
    if (flags['init-from']) {
      const file = flags['init-from'];
      const source = (await readCheckpointFile(file)).metadata.config;
      const sourceKernel = source?.kernel_size ?? source?.enc_kernel_size ?? 3;
      init = sourceKernel < kernel ? { kind: 'upkern', path: file } : { kind: 'checkpoint', path: file };
    }
    const engine = await setupTrainingEngine(this, flags, settings.optimizer);
    const base = { ...optionsFromFlags(flags, task, model, settings), engine: engine.engine, device: engine.device };
    if (!flags.quiet) {
      this.logToStderr(
        `task ${task.id}: MedNeXt-${settings.preset} k${kernel}, regions ${task.regions.map((r) => r.name).join(', ')}; ` +
          `patch ${base.patchSize.join('x')}, batch ${base.batchSize}, ${base.epochs} epochs x ${base.iterationsPerEpoch}, ` +
          `${base.optimizer} lr ${base.learningRate}, ${base.loss}`,
      );
    }
    try {
      await runFolds(this, base, flags.fold, () => init, flags.quiet, {
        foldsRequested: flags['num-folds'],
        overwrite: flags.overwrite,
      });
    } finally {
      engine.release();
    }
  }
}
