import { access } from 'node:fs/promises';
import path from 'node:path';
import { Args, Command, Flags } from '@oclif/core';
import {
  MedNeXt,
  describeInferredConfig,
  encodeCheckpoint,
  encodeCheckpointMetadata,
  loadStateDict,
  networkWeights,
} from '@mednext-ts/mednext';
import { readWeightsFile, writeCheckpointFile } from '@mednext-ts/mednext/node';
import { findTask } from '../../lib/inference/runtime.js';
import { parsePatchSize } from '../../lib/inference/options.js';

/** `mednext model import`: a PyTorch / Lightning checkpoint in, our safetensors checkpoint with full metadata out. */
export default class ModelImport extends Command {
  static override description =
    'Convert a PyTorch Lightning .ckpt (or any PyTorch zip checkpoint of a MedNeXt) into a .safetensors checkpoint ' +
    'that records everything later runs need: the network config (inferred from the tensors), the task (and so its ' +
    'pipeline, region order, modalities and postprocessing defaults) and the sliding-window size. The file is read ' +
    'without executing any of its pickled code; optimizer state and other Lightning entries are dropped.';

  static override examples = [
    '<%= config.bin %> model import fold0.ckpt --task ssa-paper --out ssa-fold0.safetensors',
    '<%= config.bin %> model import ped.ckpt --task ped-paper --patch-size 128x160x112 --out ped.safetensors',
  ];

  static override args = {
    checkpoint: Args.string({ description: 'the .ckpt / .pth file', required: true }),
  };

  static override flags = {
    task: Flags.string({ description: 'task the model was trained for (ssa-paper, ped-paper, ...)', required: true }),
    out: Flags.string({ char: 'o', description: 'output .safetensors file', required: true }),
    'patch-size': Flags.string({ description: "sliding-window size to record (default: the task's window)" }),
    overwrite: Flags.boolean({ description: 'replace an existing output file' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ModelImport);
    const task = await findTask(this.config, flags.task);
    const patchSize = parsePatchSize(flags['patch-size']) ?? task.windowSize ?? task.training.patchSize;
    if (!flags.overwrite) {
      const exists = await access(flags.out).then(
        () => true,
        () => false,
      );
      if (exists) this.error(`${flags.out} exists; pass --overwrite to replace it`);
    }
    const loaded = await readWeightsFile(args.checkpoint);
    let network: ReturnType<typeof networkWeights>;
    try {
      network = networkWeights(loaded, args.checkpoint);
    } catch (error) {
      this.error((error as Error).message);
    }
    const { config, tensors, inferred } = network;
    if (config.n_classes !== task.regions.length) {
      this.error(
        `${args.checkpoint} predicts ${config.n_classes} channels; task '${task.id}' has ${task.regions.length} regions (${task.regions.map((r) => r.name).join(', ')})`,
      );
    }
    if (config.in_channels !== task.modalities.length) {
      this.error(
        `${args.checkpoint} takes ${config.in_channels} channels; task '${task.id}' has ${task.modalities.length} modalities`,
      );
    }
    // Load once, strictly, so that a file that would fail at prediction time fails here.
    const model = MedNeXt.create(config, { seed: 0 });
    try {
      loadStateDict(model, tensors, { source: args.checkpoint });
    } catch (error) {
      this.error((error as Error).message);
    } finally {
      model.dispose();
    }
    const metadata = encodeCheckpointMetadata({
      config,
      task: task.id,
      modalities: task.modalities,
      regions: task.regions.map((r) => r.name),
      patchSize,
      ...(task.pipeline ? { pipeline: task.pipeline } : {}),
      source: {
        file: path.basename(args.checkpoint),
        format: loaded.format,
        ...(inferred ? { prefix: inferred.prefix, head_layout: inferred.headLayout, preset: inferred.preset } : {}),
      },
    });
    await writeCheckpointFile(flags.out, encodeCheckpoint(tensors, metadata));
    if (inferred) this.log(`${args.checkpoint}: ${describeInferredConfig(inferred)}`);
    this.log(`wrote ${flags.out} (task ${task.id}, window ${patchSize.join('x')}, ${tensors.size} tensors)`);
  }
}
