import { Command, Flags } from '@oclif/core';
import { generatePhantom, generateTaskPhantom, type PhantomVariant } from '@mednext-ts/mednext';
import { writePhantomCaseFolder, writeTaskPhantomFolder } from '../../lib/inference/phantom-files.js';
import { findTask } from '../../lib/inference/runtime.js';

/** `mednext demo phantoms`: a synthetic BraTS-like dataset. */
export default class DemoPhantoms extends Command {
  static override summary = 'Write a synthetic BraTS-like dataset in case folders.';

  static override description =
    'Write synthetic BraTS-like cases (four modalities + labels, one folder per case) from the seeded phantom generator: ' +
    'glioma (adult labels), ssa (adult labels, degraded: noise, blur, thick slices) or ped (paediatric labels with a cyst). ' +
    'This is the training set of the shipped demo model. With --task, cases for any registered task instead: nested ' +
    "ellipsoids carrying the task's labels, one image per modality, files named as the task's inputs.";

  static override examples = [
    '<%= config.bin %> demo phantoms --count 40 --variant glioma,ssa --out data/phantoms',
    '<%= config.bin %> demo phantoms --task liver --count 6 --shape 32 --spacing 1 --out data/liver',
  ];

  static override flags = {
    out: Flags.string({ char: 'o', description: 'dataset folder', required: true }),
    count: Flags.integer({ char: 'n', description: 'number of cases', default: 20, min: 1 }),
    'first-seed': Flags.integer({ description: 'seed of the first case; case k uses first-seed + k', default: 1000 }),
    variant: Flags.string({ description: 'comma-separated variants, used in turn', default: 'glioma' }),
    task: Flags.string({
      description:
        'write cases for this registered task (its labels, modalities and file naming) instead of BraTS-like ones',
    }),
    shape: Flags.string({ description: 'grid size', default: '40x48x32' }),
    spacing: Flags.string({ description: 'voxel size in mm', default: '4' }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress output' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(DemoPhantoms);
    if (flags.task) {
      const task = await findTask(this.config, flags.task);
      const shape = parseTriple(flags.shape, '--shape');
      const spacing = parseTriple(flags.spacing, '--spacing');
      for (let k = 0; k < flags.count; k++) {
        const phantom = generateTaskPhantom({ task, seed: flags['first-seed'] + k, shape, spacing });
        const dir = await writeTaskPhantomFolder(flags.out, phantom, task);
        if (!flags.quiet) this.logToStderr(`[${k + 1}/${flags.count}] ${dir}`);
      }
      return;
    }
    const variants = flags.variant.split(',').map((v) => v.trim()) as PhantomVariant[];
    for (const v of variants)
      if (!['glioma', 'ssa', 'ped'].includes(v)) this.error(`--variant: unknown variant '${v}' (glioma, ssa, ped)`);
    const shape = parseTriple(flags.shape, '--shape');
    const spacing = parseTriple(flags.spacing, '--spacing');
    for (let k = 0; k < flags.count; k++) {
      const phantom = generatePhantom({
        seed: flags['first-seed'] + k,
        variant: variants[k % variants.length],
        shape,
        spacing,
      });
      const dir = await writePhantomCaseFolder(flags.out, phantom);
      if (!flags.quiet) this.logToStderr(`[${k + 1}/${flags.count}] ${dir} (${phantom.info.degradations.join('; ')})`);
    }
  }
}

/** `AxBxC` or one number for all three axes. */
export function parseTriple(text: string, what: string): [number, number, number] {
  const parts = text.split(/[x,]/).map((s) => Number(s.trim()));
  const triple = parts.length === 1 ? [parts[0]!, parts[0]!, parts[0]!] : parts;
  if (triple.length !== 3 || triple.some((v) => !(v > 0)))
    throw new Error(`${what}: expected AxBxC or one positive number, got '${text}'`);
  return triple as [number, number, number];
}
