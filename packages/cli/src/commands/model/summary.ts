import { readFile } from 'node:fs/promises';
import { Args, Command, Flags } from '@oclif/core';
import {
  describeInferredConfig,
  networkWeights,
  presetConfig,
  summarize,
  type MedNeXtConfig,
  type PresetName,
} from '@mednext-ts/mednext';
import { readCheckpointFile } from '@mednext-ts/mednext/node';
import { parseDims3 } from '../../lib/dims.js';

function parsePatch(text: string): [number, number, number] {
  const dims = parseDims3(text);
  if (!dims) throw new Error(`--patch-size must look like 128x160x112, got '${text}'`);
  return dims;
}

const fmt = (n: number): string => n.toLocaleString('en-US');
const WEIGHTS_FILE = /\.(safetensors|pth|pt|ckpt)$/i;
const DEFAULT_PATCH = '128x160x112';

/** What the summary describes: a network config, where it came from, and the patch of a checkpoint. */
interface Described {
  config: MedNeXtConfig;
  title: string;
  /** Training patch recorded in a checkpoint. */
  patch?: [number, number, number];
  /** Training facts of a checkpoint (task, regions, modalities, fold, epoch). */
  checkpoint?: Record<string, unknown>;
}

async function describeCheckpoint(file: string): Promise<Described> {
  const { weights, metadata } = await readCheckpointFile(file);
  // The stored config of our checkpoints, else the network inferred from the tensors (PyTorch/Lightning files).
  const { config, inferred } = networkWeights(weights, file);
  const extra: Record<string, unknown> = {
    task: metadata.task,
    patchSize: metadata.patchSize,
    modalities: metadata.modalities,
    regions: metadata.regions,
    normalization: metadata.normalization,
    source: metadata.source,
    fold: metadata.fold,
    epoch: metadata.epoch,
    val_dice_mean: metadata.valDiceMean,
  };
  for (const key of Object.keys(extra)) if (extra[key] === undefined) delete extra[key];
  return {
    config,
    title: inferred ? `${file}: ${describeInferredConfig(inferred)}` : file,
    patch: metadata.patchSize,
    checkpoint: extra,
  };
}

/** `mednext model summary`: layers, parameters and forward cost of a configuration or a checkpoint. */
export default class ModelSummary extends Command {
  static override summary = 'Layers, parameters and GFLOPs of a preset, config or checkpoint.';

  static override description =
    'Prints the layers with output shapes, parameters and multiply-adds for one patch, the total parameter count and ' +
    'the forward GFLOPs (2 x MACs of the convolutions, as the spec counts them). A checkpoint is summarised from the ' +
    'network config in its metadata, at its training patch size, with what it records about its training.';

  static override examples = [
    '<%= config.bin %> model summary runs/ssa-B/fold_0/checkpoint_best.safetensors',
    '<%= config.bin %> model summary --preset B --kernel 3',
    '<%= config.bin %> model summary --preset M --kernel 5 --patch-size 128x128x128 --deep-supervision',
    '<%= config.bin %> model summary --config config.json --json',
    '<%= config.bin %> model summary --model epoch=71-step=64800.ckpt',
  ];

  static override args = {
    checkpoint: Args.string({ description: 'a checkpoint to summarise (.safetensors, .pth, Lightning .ckpt)' }),
  };

  static override flags = {
    preset: Flags.string({ description: 'published size', options: ['S', 'B', 'M', 'L'], default: 'B' }),
    kernel: Flags.integer({ description: 'depthwise kernel size', options: ['3', '5', '7'], default: 3 }),
    config: Flags.string({
      description: 'a CONFIG.json with official argument names instead of --preset (or a checkpoint file)',
    }),
    model: Flags.string({
      char: 'm',
      aliases: ['weights'],
      deprecateAliases: true,
      description:
        'a checkpoint (.safetensors, .pth, Lightning .ckpt) whose network to summarise (same as the argument): its stored config, else the one inferred from its tensors',
    }),
    'in-channels': Flags.integer({ description: 'input channels of the preset', default: 4 }),
    classes: Flags.integer({ description: 'output classes of the preset', default: 3 }),
    'deep-supervision': Flags.boolean({ description: 'include the deep-supervision heads' }),
    'patch-size': Flags.string({
      description: `patch size DxHxW, multiples of 16 (default: a checkpoint's training patch, else ${DEFAULT_PATCH})`,
      aliases: ['patch'],
      deprecateAliases: true,
    }),
    json: Flags.boolean({ description: 'print the summary as JSON' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ModelSummary);
    // A checkpoint given to --config (a natural guess) is read as one instead of failing as JSON.
    const checkpointFile =
      args.checkpoint ?? flags.model ?? (flags.config && WEIGHTS_FILE.test(flags.config) ? flags.config : undefined);
    if ((args.checkpoint || flags.model) && flags.config) this.error('give either a checkpoint or --config, not both');
    let described: Described;
    try {
      if (checkpointFile) described = await describeCheckpoint(checkpointFile);
      else if (flags.config) {
        const text = await readFile(flags.config, 'utf8');
        try {
          described = { config: JSON.parse(text) as MedNeXtConfig, title: flags.config };
        } catch (error) {
          throw new Error(`--config ${flags.config}: not JSON (${(error as Error).message}); a checkpoint goes first`, {
            cause: error,
          });
        }
      } else {
        described = {
          config: presetConfig(flags.preset as PresetName, {
            kernelSize: flags.kernel,
            inChannels: flags['in-channels'],
            nClasses: flags.classes,
            deepSupervision: flags['deep-supervision'],
          }),
          title: `MedNeXt-${flags.preset} k${flags.kernel}`,
        };
      }
    } catch (error) {
      this.error((error as Error).message);
    }
    const { config, title, checkpoint } = described;
    let patch: [number, number, number];
    let s: ReturnType<typeof summarize>;
    try {
      patch = flags['patch-size'] ? parsePatch(flags['patch-size']) : (described.patch ?? parsePatch(DEFAULT_PATCH));
      s = summarize(config, patch);
    } catch (e) {
      this.error((e as Error).message);
    }
    if (flags.json) {
      this.log(JSON.stringify({ title, config, patch, ...(checkpoint ? { checkpoint } : {}), ...s }, null, 2));
      return;
    }
    this.log(`${title}, input 1x${config.in_channels}x${patch.join('x')}`);
    if (checkpoint)
      this.log(
        Object.entries(checkpoint)
          .map(
            ([k, v]) =>
              `${k} ${Array.isArray(v) ? v.join(v.every((x) => typeof x === 'number') ? 'x' : ',') : String(v)}`,
          )
          .join('; '),
      );
    this.log(`${'layer'.padEnd(16)}${'output'.padEnd(22)}${'params'.padStart(12)}${'GMAC'.padStart(10)}`);
    for (const r of s.rows) {
      this.log(
        `${r.name.padEnd(16)}${r.outputShape.join('x').padEnd(22)}${fmt(r.params).padStart(12)}${(r.macs / 1e9).toFixed(3).padStart(10)}`,
      );
    }
    const b = s.breakdown;
    this.log(`parameters: ${fmt(s.totalParams)} (incl. dummy_tensor)`);
    this.log(`forward: ${(s.totalMacs / 1e9).toFixed(1)} GMAC = ${(s.totalFlops / 1e9).toFixed(1)} GFLOPs`);
    this.log(
      `  GMAC by kind: depthwise ${(b.depthwise / 1e9).toFixed(1)}, pointwise ${(b.pointwise / 1e9).toFixed(1)}, ` +
        `transposed ${(b.transposed / 1e9).toFixed(1)}, other ${(b.other / 1e9).toFixed(1)} (norms, GELU, bias adds not counted)`,
    );
  }
}
