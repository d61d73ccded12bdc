import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Flags } from '@oclif/core';
import {
  MedNeXt,
  describeInferredConfig,
  formatLoadReport,
  loadStateDict,
  forwardNcdhw,
  networkWeights,
  parseNpy,
  serializeNpy,
} from '@mednext-ts/mednext';
import { readWeightsFile } from '@mednext-ts/mednext/node';
import { selectBackend, type BackendPreference } from '@mednext-ts/tensor3d';
import { resolveModelConfig } from '../../lib/model-config.js';

/** `mednext model run`: one forward pass of the raw network, .npy in, .npy out. */
export default class ModelRun extends Command {
  static override summary = 'Run a MedNeXt forward pass on a .npy input.';

  static override description =
    'Run the MedNeXt network once in eval mode on a raw NCDHW float32 .npy input and write the logits as ' +
    'output_main.npy (and output_ds1.npy ... output_ds4.npy with deep supervision), NCDHW float32. CONFIG.json uses ' +
    'the official constructor argument names; weights are .safetensors or a PyTorch .pth/.pt checkpoint.';

  static override examples = [
    '<%= config.bin %> model run --config config.json --model weights.safetensors --input input.npy --out out/',
    '<%= config.bin %> model run --model checkpoint.pth --config config.json --input x.npy --out out/ --backend wasm',
  ];

  static override flags = {
    config: Flags.string({
      description:
        'MedNeXt constructor arguments as JSON (default: the config stored in the safetensors metadata, else inferred from the tensors)',
    }),
    model: Flags.string({
      char: 'm',
      aliases: ['weights'],
      deprecateAliases: true,
      description: '.safetensors, PyTorch .pth/.pt or Lightning .ckpt checkpoint (a model. prefix is removed)',
      required: true,
    }),
    input: Flags.string({ description: 'input .npy, NCDHW float32, spatial sizes multiples of 16', required: true }),
    out: Flags.string({ description: 'output folder (created if needed)', required: true }),
    backend: Flags.string({
      description: 'compute backend',
      options: ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'],
      default: 'auto',
    }),
    'non-strict': Flags.boolean({
      description: 'load the matching tensors even if some are missing, unexpected or mis-shaped (reported)',
    }),
    'no-deep-supervision': Flags.boolean({ description: 'write only output_main.npy even if the config has DS heads' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ModelRun);
    const choice = await selectBackend(flags.backend as BackendPreference);
    this.logToStderr(`backend: ${choice.backend} (${choice.reason})`);
    const weights = await readWeightsFile(flags.model);
    let config: Awaited<ReturnType<typeof resolveModelConfig>>;
    let tensors = weights.tensors;
    if (flags.config) {
      config = await resolveModelConfig(flags.config, flags.model, weights.metadata).catch((error: Error) =>
        this.error(error.message),
      );
    } else {
      let network: ReturnType<typeof networkWeights>;
      try {
        network = networkWeights(weights, flags.model);
      } catch (error) {
        this.error((error as Error).message);
      }
      config = network.config;
      tensors = network.tensors;
      if (network.inferred) this.logToStderr(`${flags.model}: ${describeInferredConfig(network.inferred)}`);
    }
    const model = MedNeXt.create(config);
    const report = loadStateDict(model, tensors, { strict: !flags['non-strict'], source: flags.model });
    const problems = formatLoadReport(report);
    if (problems) this.warn(`weights: ${problems}`);
    const input = parseNpy(new Uint8Array(await readFile(flags.input)), flags.input);
    const started = performance.now();
    let outputs: Awaited<ReturnType<typeof forwardNcdhw>>;
    try {
      outputs = await forwardNcdhw(model, input, { deepSupervision: flags['no-deep-supervision'] ? false : undefined });
    } catch (e) {
      this.error(`${flags.input}: ${(e as Error).message}`);
    }
    const seconds = (performance.now() - started) / 1000;
    await mkdir(flags.out, { recursive: true });
    for (let i = 0; i < outputs.length; i++) {
      const name = i === 0 ? 'output_main.npy' : `output_ds${i}.npy`;
      await writeFile(path.join(flags.out, name), serializeNpy(outputs[i].data, outputs[i].shape));
      this.log(`${path.join(flags.out, name)}  ${outputs[i].shape.join('x')}`);
    }
    this.logToStderr(`forward: ${seconds.toFixed(2)} s, ${model.parameterCount()} parameters`);
    model.dispose();
  }
}
