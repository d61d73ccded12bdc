import { mkdir, readFile, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { Command, Flags } from '@oclif/core';
import { orientationCodes } from '@mednext-ts/io-nifti';
import { generatePhantom, onWebGpu, resolvePostprocess, segmentCase, type PhantomVariant } from '@mednext-ts/mednext';
import {
  loadCaseInput,
  loadInferenceModel,
  readDemoModelInfo,
  segmentationFileName,
  writeFileAtomic,
  writeSegmentation,
} from '@mednext-ts/mednext/node';
import { evaluateCase, type CaseMetrics } from '@mednext-ts/metrics';
import type { BackendPreference } from '@mednext-ts/tensor3d';
import { summarise, writeOverlays } from '../../lib/inference/case-output.js';
import { writePhantomCaseFolder } from '../../lib/inference/phantom-files.js';
import { BACKEND_CHOICES, findTask, setupBackend } from '../../lib/inference/runtime.js';
import { chooseNetworkEngine } from '../../lib/inference/network-engine.js';
import { protocolFor, protocolLabel } from '../../lib/inference/scoring.js';

/** `mednext demo`: the whole pipeline on a fresh synthetic case, in about a minute on a laptop CPU. */
export default class Demo extends Command {
  static override summary = 'Segment and score a fresh synthetic case.';

  static override description =
    'Generate a fresh synthetic BraTS-like case (a phantom never seen in training), segment it with the small MedNeXt ' +
    'shipped in the package, score it with the BraTS 2024 lesion-wise metrics and write the inputs, the segmentation, ' +
    'overlay pictures and a short report to the output folder.';

  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --out demo-out --variant ssa --seed 7'];

  static override flags = {
    out: Flags.string({ char: 'o', description: 'output folder', default: 'mednext-demo' }),
    seed: Flags.integer({ description: 'phantom seed (training used 1000-1039)', default: 424242 }),
    variant: Flags.string({
      description: 'phantom kind: glioma, or ssa (degraded scan)',
      options: ['glioma', 'ssa'],
      default: 'glioma',
    }),
    tta: Flags.boolean({ description: 'mirror test-time augmentation (8x slower)' }),
    backend: Flags.string({ description: 'compute backend', options: [...BACKEND_CHOICES], default: 'auto' }),
    threads: Flags.integer({
      description: 'worker threads of the WebAssembly SIMD kernels on the CPU backends (default: cores, at most 4)',
      min: 1,
    }),
    model: Flags.string({ description: 'use this checkpoint instead of the shipped demo model' }),
    'overlay-style': Flags.string({
      description: 'overlay labels filled (translucent) or as outlines that leave the texture visible',
      options: ['fill', 'contour'],
      default: 'fill',
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Demo);
    const started = performance.now();
    const info = await readDemoModelInfo();
    const demoSeeds = [info.phantom.firstSeed, info.phantom.firstSeed + info.phantom.count - 1];
    if (flags.seed >= demoSeeds[0]! && flags.seed <= demoSeeds[1]!)
      this.warn(`seed ${flags.seed} was used in training (${demoSeeds.join('-')}); the score will be optimistic`);
    const engine = await chooseNetworkEngine(flags.backend as BackendPreference).catch((error: Error) =>
      this.error(error.message),
    );
    const backend = await setupBackend(
      engine.engine === 'webgpu' ? 'auto' : (flags.backend as BackendPreference),
      flags.threads,
    );
    this.log(`backend: ${backend.backend} (${backend.reason})`);
    if (engine.engine === 'webgpu')
      this.log(`network: WebGPU engine on ${engine.adapter!.description} (${engine.reason})`);

    // A previous demo in the same folder leaves its case's files; remove them so the folder describes one run.
    const removed = await removePreviousDemo(flags.out);
    if (removed.length > 0)
      this.log(`removed the previous demo's ${removed.length} files and folders from ${flags.out}`);

    const phantom = generatePhantom({
      seed: flags.seed,
      variant: flags.variant as PhantomVariant,
      shape: info.phantom.shape,
      spacing: info.phantom.spacing,
    });
    const caseDir = await writePhantomCaseFolder(path.join(flags.out, 'input'), phantom);
    this.log(
      `phantom ${phantom.id}: ${phantom.label.shape.join('x')} at ${phantom.label.spacing!.join('x')} mm (${phantom.info.degradations.join('; ')}) -> ${caseDir}`,
    );

    const loadedModel = await loadInferenceModel(flags.model ?? info.weightsPath);
    const model = engine.engine === 'webgpu' ? await onWebGpu(loadedModel, { device: engine.device }) : loadedModel;
    const task = await findTask(this.config, model.info.task ?? info.task);
    const settings = resolvePostprocess(task);
    const modalities = model.info.modalities ?? task.modalities;
    // Read back from the written files: the same path as `mednext predict` on real data.
    const loaded = await loadCaseInput({ id: phantom.id, dir: caseDir }, modalities);
    const t0 = performance.now();
    const result = await segmentCase(
      { id: loaded.id, image: loaded.image, modalities, spacing: loaded.image.spacing },
      task,
      [model],
      settings,
      { tta: flags.tta },
    );
    const inferenceSeconds = (performance.now() - t0) / 1000;
    model.dispose?.();
    engine.device?.destroy();
    const segFile = path.join(flags.out, segmentationFileName(phantom.id));
    await writeSegmentation(segFile, result.labels, result.shape, loaded.reference);
    const pngs = await writeOverlays(flags.out, phantom.id, loaded.image, result.labels, task, {
      truth: Uint8Array.from(phantom.label.data),
      modalities,
      orientation: orientationCodes(loaded.reference.affine),
      style: flags['overlay-style'] as 'fill' | 'contour',
    });

    const protocol = protocolFor(task);
    const metrics = evaluateCase({
      gt: phantom.label,
      pred: { data: result.labels, shape: result.shape, spacing: phantom.label.spacing },
      task: protocol,
      id: phantom.id,
    });
    const table = metricsTable(metrics);
    this.log('');
    this.log(`${protocolLabel(protocol)} metrics (protocol ${protocol.name}) on ${phantom.id}:`);
    for (const line of table) this.log(`  ${line}`);
    const total = (performance.now() - started) / 1000;
    this.log('');
    this.log(
      `prediction: ${summarise(result.labels, task)}; inference ${inferenceSeconds.toFixed(1)} s, total ${total.toFixed(1)} s`,
    );
    const report = [
      `# mednext demo: ${phantom.id}`,
      '',
      `Synthetic case (seed ${flags.seed}, variant ${flags.variant}; ${phantom.info.degradations.join('; ')}), ${phantom.label.shape.join('x')} voxels of ${phantom.label.spacing!.join('x')} mm,`,
      `segmented by the shipped demo MedNeXt (${path.basename(flags.model ?? info.weightsPath)}, task ${task.id}) on the ${backend.backend} backend${flags.tta ? ' with mirror TTA' : ''}.`,
      `Postprocessing: ${settings.map((s) => `${s.name} >= ${s.threshold}`).join(', ')}.`,
      '',
      `## ${protocolLabel(protocol)} metrics (protocol ${protocol.name})`,
      '',
      '```',
      ...table,
      '```',
      '',
      `Inference ${inferenceSeconds.toFixed(1)} s; whole demo ${total.toFixed(1)} s.`,
      '',
      '## Files',
      '',
      `- inputs: \`${path.relative(flags.out, caseDir)}/\` (four modalities and the true labels, NIfTI)`,
      `- segmentation: \`${path.basename(segFile)}\` (labels 1 NETC, 2 SNFH/edema, 3 ET)`,
      `- overlays, the prediction above the truth: ${pngs.map((p) => `\`${path.basename(p)}\``).join(', ')}`,
      '',
    ].join('\n');
    await mkdir(flags.out, { recursive: true });
    await writeFileAtomic(path.join(flags.out, 'report.md'), report);
    await writeFileAtomic(
      path.join(flags.out, 'metrics.json'),
      JSON.stringify(
        {
          id: phantom.id,
          seed: flags.seed,
          variant: flags.variant,
          inferenceSeconds,
          totalSeconds: total,
          metrics,
          files: [...pngs.map((p) => path.basename(p)), path.basename(segFile), `input/${phantom.id}/`],
        },
        null,
        2,
      ) + '\n',
    );
    this.log(`wrote ${segFile}, ${pngs.length} overlays, report.md and metrics.json in ${flags.out}`);
  }
}

/**
 * Removes what an earlier `mednext demo` wrote to `out`: the files its `metrics.json` lists (or, from demos that
 * did not list them, those named after its case), its input case folder, then the report and metrics. Nothing
 * else in the folder is touched. Returns the names removed.
 */
export async function removePreviousDemo(out: string): Promise<string[]> {
  let previous: { id?: unknown; files?: unknown };
  try {
    previous = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8')) as typeof previous;
  } catch {
    return [];
  }
  if (typeof previous.id !== 'string' || !/^[\w.-]+$/.test(previous.id)) return [];
  const id = previous.id;
  const listed = Array.isArray(previous.files) ? previous.files.filter((f): f is string => typeof f === 'string') : [];
  const names = new Set(
    listed.length > 0
      ? listed
      : [
          `${id}.nii.gz`,
          ...['axial', 'coronal', 'sagittal'].flatMap((p) => [`${id}_${p}.png`, `${id}_truth_${p}.png`]),
          `input/${id}/`,
        ],
  );
  const removed: string[] = [];
  for (const name of [...names, 'report.md', 'metrics.json']) {
    // Only names inside the output folder, as the demo writes them.
    const target = path.resolve(out, name);
    if (path.relative(path.resolve(out), target).startsWith('..')) continue;
    try {
      await rm(target, { recursive: name.endsWith('/'), force: false });
      removed.push(name);
    } catch {
      // already gone
    }
  }
  // The input folder itself goes when nothing else is in it.
  await rmdir(path.join(out, 'input')).catch(() => undefined);
  return removed;
}

/** The per-region table printed by the demo. */
export function metricsTable(metrics: CaseMetrics): string[] {
  const lines = ['region  lesion Dice  lesion HD95  legacy Dice  TP  FP  FN'];
  for (const r of metrics.regionOrder) {
    const m = metrics.regions[r]!;
    lines.push(
      `${r.padEnd(6)}  ${m.LesionWise_Score_Dice.toFixed(4).padStart(11)}  ${m.LesionWise_Score_HD95.toFixed(2).padStart(11)}  ${m.Legacy_Dice.toFixed(4).padStart(11)}  ${String(m.Num_TP).padStart(2)}  ${String(m.Num_FP).padStart(2)}  ${String(m.Num_FN).padStart(2)}`,
    );
  }
  return lines;
}
