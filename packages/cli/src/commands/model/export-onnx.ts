import { readFile, writeFile } from 'node:fs/promises';
import { Command, Flags } from '@oclif/core';
import { mednextToOnnx, parseSafetensors } from '@mednext-ts/mednext';
import { parseDims3 } from '../../lib/dims.js';
import { resolveModelConfig } from '../../lib/model-config.js';

/** `mednext model export-onnx`: a MedNeXt checkpoint as an ONNX model (opset 17, NCDHW) for onnxruntime & co. */
export default class ModelExportOnnx extends Command {
  static override summary = 'Export MedNeXt weights to an ONNX model.';

  static override description =
    'Export MedNeXt weights (.safetensors, official state-dict names) to an ONNX model (opset 17, NCDHW float32, ' +
    "input 'input', output 'output' and with --deep-supervision 'output_ds1'..'output_ds4'). " +
    'The config comes from --config or, when absent, from the safetensors metadata.';

  static override examples = [
    '<%= config.bin %> model export-onnx --config config.json --model model.safetensors --out model.onnx',
    '<%= config.bin %> model export-onnx --model model.safetensors --out model.onnx --shape 128x160x112',
  ];

  static override flags = {
    config: Flags.string({ description: 'CONFIG.json with the official constructor arguments' }),
    model: Flags.string({
      char: 'm',
      description: 'weights, .safetensors',
      required: true,
      aliases: ['weights'],
      deprecateAliases: true,
    }),
    out: Flags.string({ description: 'output .onnx file', required: true }),
    shape: Flags.string({
      description:
        'fix the input spatial size DxHxW (multiples of 16; lets ONNX runtimes plan memory); dynamic if absent',
    }),
    batch: Flags.integer({ description: 'fix the batch size (dynamic if absent)', min: 1 }),
    'deep-supervision': Flags.boolean({ description: 'also output the 4 deep-supervision heads', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ModelExportOnnx);
    const st = parseSafetensors(new Uint8Array(await readFile(flags.model)), flags.model);
    const config = await resolveModelConfig(flags.config, flags.model, st.metadata).catch((error: Error) =>
      this.error(error.message),
    );
    let spatialShape: [number, number, number] | undefined;
    if (flags.shape) {
      const dims = parseDims3(flags.shape);
      if (!dims) this.error(`--shape must be DxHxW (three positive integers), got '${flags.shape}'`);
      spatialShape = dims;
    }
    let bytes: Uint8Array;
    try {
      bytes = mednextToOnnx(config, st.tensors, {
        spatialShape,
        batchSize: flags.batch,
        deepSupervision: flags['deep-supervision'],
        producerVersion: this.config.version,
      });
    } catch (error) {
      this.error(`${flags.model}: ${(error as Error).message}`);
    }
    await writeFile(flags.out, bytes);
    this.log(`wrote ${flags.out} (${(bytes.length / 2 ** 20).toFixed(1)} MiB, opset 17)`);
  }
}
