import { Command, Flags } from '@oclif/core';
import cliProgress from 'cli-progress';
import { describeCount } from '@mednext-ts/mednext';
import { parseRoot, preprocessDataset, type PreprocessProgress } from '@mednext-ts/mednext/node';
import { findTask } from '../lib/inference/runtime.js';

/** `mednext preprocess`: BraTS folders in, per-case training cache out. */
export default class Preprocess extends Command {
  static override summary = 'Crop, z-score and cache BraTS cases for training.';

  static override description =
    'Preprocess BraTS case folders for training: crop each case to the non-zero bounding box of its modalities, ' +
    'z-score every modality over its non-zero voxels, and write <ID>.npy (float32, channels in the task order), ' +
    '<ID>_seg.npy (uint8 labels) and <ID>.json (crop box, original shape, affine, normalisation statistics) per case, ' +
    'plus dataset.json. Several roots can be combined, each with a source tag (used to stratify the folds). ' +
    'Cases already in the cache are skipped unless --overwrite.';

  static override examples = [
    '<%= config.bin %> preprocess --task ssa --root /data/BraTS2023-GLI:glioma --root /data/BraTS2024-SSA:ssa --out /data/cache-ssa',
    '<%= config.bin %> preprocess --task ped --root /data/BraTS2024-PED --out /data/cache-ped --workers 8',
  ];

  static override flags = {
    task: Flags.string({
      char: 't',
      description: 'task id: label convention and modality order (see mednext tasks)',
      required: true,
    }),
    root: Flags.string({
      char: 'r',
      description:
        'dataset folder with one sub-folder per case, optionally :tag for its source (default tag: folder name); repeatable',
      required: true,
      multiple: true,
    }),
    out: Flags.string({ char: 'o', description: 'cache folder (created if needed)', required: true }),
    workers: Flags.integer({
      char: 'j',
      description: 'worker threads (default: CPU count - 1, at most 8; 0 = none)',
      min: 0,
    }),
    overwrite: Flags.boolean({ description: 'redo cases that are already cached' }),
    'repair-non-finite': Flags.boolean({
      description:
        'set NaN/infinite input voxels to 0 (background) before normalisation and report how many; by default a case with any fails',
    }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress output' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Preprocess);
    const task = await findTask(this.config, flags.task);
    const roots = flags.root.map(parseRoot);
    const tty = !flags.quiet && process.stderr.isTTY;
    let bar: cliProgress.SingleBar | undefined;
    const onProgress = (e: PreprocessProgress) => {
      if (e.status === 'failed') this.logToStderr(`${e.id}: FAILED: ${e.error}`);
      for (const r of e.repaired ?? []) this.logToStderr(`${e.id}: repaired ${describeCount(r)} (set to 0)`);
      if (flags.quiet) return;
      if (tty) {
        if (!bar) {
          bar = new cliProgress.SingleBar(
            {
              format: 'preprocess [{bar}] {value}/{total} ETA {eta_formatted} {id}',
              stream: process.stderr,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(e.total, 0, { id: '' });
        }
        bar.update(e.finished, { id: `${e.id} ${e.status}` });
      } else {
        this.logToStderr(`[${e.finished}/${e.total}] ${e.id} ${e.status}`);
      }
    };
    if (!flags.quiet) {
      this.logToStderr(
        `task ${task.id}: modalities ${task.modalities.join(', ')}; roots ${roots.map((r) => `${r.path} (${r.source})`).join(', ')}`,
      );
    }
    const summary = await preprocessDataset({
      roots,
      outDir: flags.out,
      task,
      workers: flags.workers,
      overwrite: flags.overwrite,
      nonFinite: flags['repair-non-finite'] ? 'zero' : 'error',
      onProgress,
    });
    bar?.stop();
    this.log(
      `${summary.total} case(s): ${summary.processed.length} preprocessed, ${summary.skipped.length} already cached, ` +
        `${summary.failed.length} failed` +
        (summary.repaired.length > 0 ? `, ${summary.repaired.length} with non-finite voxels set to 0` : '') +
        ` -> ${flags.out}`,
    );
    if (summary.failed.length > 0)
      this.error(`${summary.failed.length} case(s) failed: ${summary.failed.map((f) => f.id).join(', ')}`, { exit: 1 });
  }
}
