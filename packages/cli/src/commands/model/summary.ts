import { readFile } from 'node:fs/promises';
import { Command, Flags } from '@oclif/core';
import {
  describeInferredConfig,
  networkWeights,
  presetConfig,
  summarize,
  type MedNeXtConfig,
  type PresetName,
} from '@mednext-ts/mednext';
import { readWeightsFile } from '@mednext-ts/mednext/node';
import { parseDims3 } from '../../lib/dims.js';

function parsePatch(text: string): [number, number, number] {
  const dims = parseDims3(text);
  if (!dims) throw new Error(`--patch must look like 128x160x112, got '${text}'`);
  return dims;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** `mednext model summary`: layers, parameters and forward cost of a configuration. */
export default class ModelSummary extends Command {
  static override description =
    'Print the layers of a MedNeXt configuration with output shapes, parameters and multiply-adds for one patch, ' +
    'the total parameter count and the forward GFLOPs (2 x MACs of the convolutions, as the spec counts them).';

  static override examples = [
    '<%= config.bin %> model summary --preset B --kernel 3',
    '<%= config.bin %> model summary --preset M --kernel 5 --patch 128x128x128 --deep-supervision',
    '<%= config.bin %> model summary --config config.json --json',
    '<%= config.bin %> model summary --weights epoch=71-step=64800.ckpt',
  ];

  static override flags = {
    preset: Flags.string({ description: 'published size', options: ['S', 'B', 'M', 'L'], default: 'B' }),
    kernel: Flags.integer({ description: 'depthwise kernel size', options: ['3', '5', '7'], default: 3 }),
    config: Flags.string({ description: 'a CONFIG.json with official argument names instead of --preset' }),
    weights: Flags.string({
      description:
        'a checkpoint (.safetensors, .pth, Lightning .ckpt) whose network to summarise: its stored config, else the one inferred from its tensors',
    }),
    'in-channels': Flags.integer({ description: 'input channels of the preset', default: 4 }),
    classes: Flags.integer({ description: 'output classes of the preset', default: 3 }),
    'deep-supervision': Flags.boolean({ description: 'include the deep-supervision heads' }),
    patch: Flags.string({ description: 'patch size DxHxW, multiples of 16', default: '128x160x112' }),
    json: Flags.boolean({ description: 'print the summary as JSON' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ModelSummary);
    let config: MedNeXtConfig;
    let title: string;
    if (flags.config) {
      config = JSON.parse(await readFile(flags.config, 'utf8')) as MedNeXtConfig;
      title = flags.config;
    } else if (flags.weights) {
      try {
        const network = networkWeights(await readWeightsFile(flags.weights), flags.weights);
        config = network.config;
        title = network.inferred ? `${flags.weights}: ${describeInferredConfig(network.inferred)}` : flags.weights;
      } catch (error) {
        this.error((error as Error).message);
      }
    } else {
      config = presetConfig(flags.preset as PresetName, {
        kernelSize: flags.kernel,
        inChannels: flags['in-channels'],
        nClasses: flags.classes,
        deepSupervision: flags['deep-supervision'],
      });
      title = `MedNeXt-${flags.preset} k${flags.kernel}`;
    }
    let patch: [number, number, number];
    let s: ReturnType<typeof summarize>;
    try {
      patch = parsePatch(flags.patch);
      s = summarize(config, patch);
    } catch (e) {
      this.error((e as Error).message);
    }
    if (flags.json) {
      this.log(JSON.stringify({ title, config, patch, ...s }, null, 2));
      return;
    }
    this.log(`${title}, input 1x${config.in_channels}x${patch.join('x')}`);
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
