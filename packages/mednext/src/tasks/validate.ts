/**
 * The checks of `defineTask`, field by field. Each failure names the field's path
 * (`training.patchSize`, `regions[1].threshold`, ...).
 */
import { EVALUATION_PRESETS, PRESET_LABELS, type LesionSizeSpec, type TaskEvaluation } from './evaluation.js';
import { losses } from './losses.js';
import { namingProblem } from './naming.js';
import { normalizationProblem, type NormalizationSpec } from './normalization.js';
import { postprocessStepProblem } from './postprocess-steps.js';
import type { TaskDefinition } from './task.js';

type Fail = (field: string, problem: string) => never;

const isInt = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;
const isPositive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const MODALITY = /^[A-Za-z0-9][A-Za-z0-9_]*$/;
const show = (v: unknown) => JSON.stringify(v) ?? String(v);

/** Checks every field of a task; calls `fail` (which throws) on the first problem. */
export function validateTask(task: TaskDefinition, fail: Fail): void {
  if (typeof task !== 'object' || task === null) fail('task', 'must be an object');
  if (typeof task.id !== 'string' || !/^[a-z][a-z0-9-]*$/.test(task.id))
    fail('id', 'must be lower-case letters, digits and dashes, starting with a letter');
  if (typeof task.description !== 'string' || !task.description.trim())
    fail('description', 'must be a non-empty string');
  const labelValues = checkLabels(task, fail);
  const regionNames = checkRegions(task, labelValues, fail);
  if (!Array.isArray(task.regionsToLabels)) fail('regionsToLabels', 'must be an array');
  for (const [name, preset] of Object.entries(task.postprocessPresets ?? {}))
    for (const r of Object.keys(preset.regions))
      if (!regionNames.has(r)) fail(`postprocessPresets.${name}.regions`, `names unknown region ${r}`);
  task.regionsToLabels.forEach(({ region, label }, i) => {
    if (!regionNames.has(region)) fail(`regionsToLabels[${i}].region`, `names unknown region ${region}`);
    if (!labelValues.has(label)) fail(`regionsToLabels[${i}].label`, `writes unknown label ${label}`);
  });
  checkModalities(task, fail);
  checkRecipe(task, fail);
  if (task.evaluation !== undefined) checkEvaluation(task.evaluation, labelValues, fail);
  if (task.normalization !== undefined) checkNormalization(task, fail);
  if (task.inputNaming !== undefined) {
    const p = namingProblem(task.inputNaming);
    if (p) fail(`inputNaming.${p.field}`, p.problem);
  }
}

function checkLabels(task: TaskDefinition, fail: Fail): Set<number> {
  if (!Array.isArray(task.labels) || task.labels.length === 0) fail('labels', 'must list at least one label');
  const values = new Set<number>();
  const names = new Set<string>();
  task.labels.forEach((label, i) => {
    if (!isInt(label.value, 1) || label.value > 255)
      fail(`labels[${i}].value`, `must be an integer in 1..255 (0 is background), got ${show(label.value)}`);
    if (values.has(label.value)) fail(`labels[${i}].value`, `label value ${label.value} is listed twice`);
    if (typeof label.name !== 'string' || !NAME.test(label.name))
      fail(`labels[${i}].name`, `must be letters, digits and underscores, got ${show(label.name)}`);
    if (names.has(label.name)) fail(`labels[${i}].name`, `label name ${label.name} is listed twice`);
    values.add(label.value);
    names.add(label.name);
  });
  return values;
}

function checkRegions(task: TaskDefinition, labelValues: Set<number>, fail: Fail): Set<string> {
  if (!Array.isArray(task.regions) || task.regions.length === 0) fail('regions', 'must list at least one region');
  if (task.regions.length > 32) fail('regions', `at most 32 regions are supported, got ${task.regions.length}`);
  const names = new Set<string>();
  task.regions.forEach((region, i) => {
    const at = `regions[${i}]`;
    if (typeof region.name !== 'string' || !NAME.test(region.name))
      fail(`${at}.name`, `must be letters, digits and underscores, got ${show(region.name)}`);
    if (names.has(region.name)) fail(`${at}.name`, `region ${region.name} is listed twice`);
    names.add(region.name);
    if (!Array.isArray(region.labels) || region.labels.length === 0)
      fail(`${at}.labels`, `region ${region.name} has no labels`);
    for (const v of region.labels)
      if (!labelValues.has(v)) fail(`${at}.labels`, `region ${region.name} uses unknown label ${v}`);
    if (!(typeof region.threshold === 'number' && region.threshold > 0 && region.threshold < 1))
      fail(`${at}.threshold`, `must be in (0, 1), got ${show(region.threshold)}`);
    if (!isInt(region.minSize, 0)) fail(`${at}.minSize`, `must be a non-negative integer, got ${show(region.minSize)}`);
    const p = region.minMeanProbability;
    if (p !== undefined && !(typeof p === 'number' && p >= 0 && p < 1))
      fail(`${at}.minMeanProbability`, `must be in [0, 1), got ${show(p)}`);
    const k = region.maxComponents;
    if (k !== undefined && !isInt(k, 1) && k !== Number.POSITIVE_INFINITY)
      fail(`${at}.maxComponents`, `must be a positive integer, got ${show(k)}`);
    if (region.postprocess !== undefined) {
      if (!Array.isArray(region.postprocess)) fail(`${at}.postprocess`, 'must be an array of steps');
      region.postprocess.forEach((step, k) => {
        const problem = postprocessStepProblem(step);
        if (problem) fail(`${at}.postprocess[${k}]`, problem);
      });
    }
  });
  return names;
}

function checkModalities(task: TaskDefinition, fail: Fail): void {
  if (!Array.isArray(task.modalities) || task.modalities.length === 0)
    fail('modalities', 'must list at least one modality');
  const seen = new Set<string>();
  task.modalities.forEach((m, i) => {
    if (typeof m !== 'string' || !MODALITY.test(m))
      fail(`modalities[${i}]`, `must be letters, digits and underscores, got ${show(m)}`);
    if (seen.has(m)) fail(`modalities[${i}]`, `modality ${m} is listed twice`);
    seen.add(m);
  });
}

function checkRecipe(task: TaskDefinition, fail: Fail): void {
  const t = task.training;
  if (typeof t !== 'object' || t === null) fail('training', 'must be a training recipe object');
  if (!['S', 'B', 'M', 'L'].includes(t.preset)) fail('training.preset', `must be S, B, M or L, got ${show(t.preset)}`);
  if (![3, 5, 7].includes(t.kernelSize)) fail('training.kernelSize', `must be 3, 5 or 7, got ${show(t.kernelSize)}`);
  if (!Array.isArray(t.patchSize) || t.patchSize.length !== 3 || t.patchSize.some((n) => !isInt(n, 16) || n % 16 !== 0))
    fail(
      'training.patchSize',
      `must be three positive multiples of 16 (the network downsamples 4 times), got ${show(t.patchSize)}`,
    );
  if (!isInt(t.batchSize, 1)) fail('training.batchSize', `must be a positive integer, got ${show(t.batchSize)}`);
  if (!isInt(t.epochs, 1)) fail('training.epochs', `must be a positive integer, got ${show(t.epochs)}`);
  if (!isInt(t.iterationsPerEpoch, 1))
    fail('training.iterationsPerEpoch', `must be a positive integer, got ${show(t.iterationsPerEpoch)}`);
  if (!isPositive(t.learningRate))
    fail('training.learningRate', `must be a positive number, got ${show(t.learningRate)}`);
  if (!(typeof t.weightDecay === 'number' && Number.isFinite(t.weightDecay) && t.weightDecay >= 0))
    fail('training.weightDecay', `must be a number >= 0, got ${show(t.weightDecay)}`);
  if (typeof t.loss !== 'string' || !losses.has(t.loss))
    fail('training.loss', `unknown loss ${show(t.loss)} (known: ${losses.names().join(', ')})`);
  if (!isInt(t.folds, 1)) fail('training.folds', `must be a positive integer, got ${show(t.folds)}`);
  if (t.finetune !== undefined) {
    if (!isInt(t.finetune.trainLast, 1))
      fail('training.finetune.trainLast', `must be a positive integer, got ${show(t.finetune.trainLast)}`);
    if (typeof t.finetune.reinit !== 'boolean') fail('training.finetune.reinit', 'must be true or false');
  }
}

function checkSize(field: string, size: LesionSizeSpec | undefined, fail: Fail): void {
  if (size === undefined) return;
  if (typeof size !== 'object' || size === null || (size.unit !== 'voxels' && size.unit !== 'mm3'))
    fail(`${field}.unit`, `must be 'voxels' or 'mm3', got ${show(size?.unit)}`);
  if (!(typeof size.value === 'number' && Number.isFinite(size.value) && size.value >= 0))
    fail(`${field}.value`, `must be a number >= 0, got ${show(size.value)}`);
}

function checkEvaluation(evaluation: TaskEvaluation, labelValues: Set<number>, fail: Fail): void {
  if (typeof evaluation !== 'object' || evaluation === null) fail('evaluation', 'must be an object');
  if ('preset' in evaluation) {
    const preset = evaluation.preset;
    if (!EVALUATION_PRESETS.includes(preset))
      fail('evaluation.preset', `unknown preset ${show(preset)} (known: ${EVALUATION_PRESETS.join(', ')})`);
    const allowed = PRESET_LABELS[preset];
    for (const v of labelValues)
      if (!allowed.includes(v))
        fail(
          'evaluation.preset',
          `${preset} defines labels ${allowed.join(', ')}; the task's label ${v} is not one of them`,
        );
    return;
  }
  if (evaluation.score !== undefined && evaluation.score !== 'lesion-wise' && evaluation.score !== 'region-wise')
    fail('evaluation.score', `must be 'lesion-wise' or 'region-wise', got ${show(evaluation.score)}`);
  if (evaluation.dilation !== undefined && !isInt(evaluation.dilation, 0))
    fail('evaluation.dilation', `must be a non-negative integer, got ${show(evaluation.dilation)}`);
  checkSize('evaluation.minLesionSize', evaluation.minLesionSize, fail);
  checkSize('evaluation.minPredictionSize', evaluation.minPredictionSize, fail);
  if (evaluation.hd95Penalty !== undefined && !isPositive(evaluation.hd95Penalty))
    fail('evaluation.hd95Penalty', `must be a positive number, got ${show(evaluation.hd95Penalty)}`);
}

function checkNormalization(task: TaskDefinition, fail: Fail): void {
  const field = task.normalization!;
  const perModality = typeof field === 'object' && field !== null && !('method' in field);
  if (!perModality) {
    const problem = normalizationProblem(field as NormalizationSpec);
    if (problem) fail('normalization', problem);
    return;
  }
  for (const [modality, spec] of Object.entries(field as Record<string, NormalizationSpec>)) {
    if (!task.modalities.includes(modality))
      fail(`normalization.${modality}`, `names no modality of the task (modalities: ${task.modalities.join(', ')})`);
    const problem = normalizationProblem(spec);
    if (problem) fail(`normalization.${modality}`, problem);
  }
}
