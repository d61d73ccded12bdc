/**
 * Moving weights between a {@link MedNeXt} and a state dict (official names, PyTorch layouts),
 * with a report of unknown, missing and mis-shaped tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MedNeXt } from '../model/mednext.js';
import type { MedNeXtConfig } from '../model/config.js';
import { formatShape, type StateDict } from './tensor-map.js';
import { MedNeXtError } from '../errors.js';

/** A tensor whose shape differs from what the model expects. */
export interface ShapeMismatch {
  name: string;
  expected: number[];
  found: number[];
}

/** What {@link loadStateDict} did. */
export interface LoadReport {
  /** Names copied into the model. */
  loaded: string[];
  /** Model parameters absent from the checkpoint (left at their current values). */
  missing: string[];
  /** Checkpoint tensors the model has no parameter for. */
  unexpected: string[];
  /** Same name, different shape (not copied). */
  mismatched: ShapeMismatch[];
  /**
   * Deep-supervision heads (`out_1..out_4`) present in the checkpoint of a model built without
   * them: a checkpoint trained with DS used for inference. Ignored, never an error.
   */
  ignoredHeads: string[];
}

/** Options of {@link loadStateDict}. */
export interface LoadOptions {
  /** Throw on missing, unexpected or mis-shaped tensors (default true). With false they are only reported. */
  strict?: boolean;
  /** Where the weights came from, for error messages. */
  source?: string;
}

const DS_HEAD = /^out_[1-4]\.conv_out\.(weight|bias)$/;

/** Removes a DataParallel `module.` prefix from every key. */
export function stripModulePrefix(sd: StateDict): StateDict {
  const out: StateDict = new Map();
  for (const [k, v] of sd) out.set(k.startsWith('module.') ? k.slice('module.'.length) : k, v);
  return out;
}

function describeProblems(r: LoadReport, max = 20): string {
  const list = (names: string[]): string =>
    names.slice(0, max).join(', ') + (names.length > max ? `, ... (${names.length - max} more)` : '');
  const parts: string[] = [];
  if (r.missing.length) parts.push(`missing ${r.missing.length}: ${list(r.missing)}`);
  if (r.unexpected.length) parts.push(`unexpected ${r.unexpected.length}: ${list(r.unexpected)}`);
  if (r.mismatched.length) {
    parts.push(
      `wrong shape ${r.mismatched.length}: ${list(
        r.mismatched.map((m) => `${m.name} (expected ${formatShape(m.expected)}, found ${formatShape(m.found)})`),
      )}`,
    );
  }
  return parts.join('; ');
}

/**
 * Copies a state dict into the model's variables. Keys may carry a `module.` prefix; `dummy_tensor`
 * may be absent (it is never used).
 * @throws in strict mode (the default) when any tensor is missing, unexpected or mis-shaped; the
 *   message lists all of them. Nothing is copied in that case.
 */
export function loadStateDict(model: MedNeXt, stateDict: StateDict, options: LoadOptions = {}): LoadReport {
  const strict = options.strict ?? true;
  const sd = stripModulePrefix(stateDict);
  const report: LoadReport = { loaded: [], missing: [], unexpected: [], mismatched: [], ignoredHeads: [] };
  const toCopy: Array<[tf.Variable, Float32Array, number[]]> = [];
  for (const [name, variable] of model.params) {
    const t = sd.get(name);
    if (!t) {
      if (name !== 'dummy_tensor') report.missing.push(name);
      continue;
    }
    const same = t.shape.length === variable.shape.length && t.shape.every((d, i) => d === variable.shape[i]);
    if (!same) {
      report.mismatched.push({ name, expected: [...variable.shape], found: [...t.shape] });
      continue;
    }
    toCopy.push([variable, t.data, t.shape]);
    report.loaded.push(name);
  }
  for (const name of sd.keys()) {
    if (model.params.has(name)) continue;
    if (DS_HEAD.test(name) && !model.resolved.deepSupervision) report.ignoredHeads.push(name);
    else report.unexpected.push(name);
  }
  const bad = report.missing.length + report.unexpected.length + report.mismatched.length;
  if (strict && bad > 0) {
    throw new MedNeXtError(
      'WEIGHTS_MISMATCH',
      `${options.source ?? 'state dict'} does not match the model: ${describeProblems(report)}` +
        ' (pass strict: false to load the matching tensors anyway)',
    );
  }
  for (const [variable, data, shape] of toCopy) {
    const t = tf.tensor(data, shape, 'float32');
    variable.assign(t);
    t.dispose();
  }
  return report;
}

/** A one-line human summary of a load report's problems ('' when clean). */
export function formatLoadReport(report: LoadReport): string {
  return describeProblems(report);
}

/**
 * Reads the model's variables into a state dict (PyTorch order and layout). Synchronous readback:
 * use {@link readStateDict} on backends without it (webgpu under Node).
 */
export function getStateDict(model: MedNeXt): StateDict {
  const sd: StateDict = new Map();
  for (const [name, v] of model.params) sd.set(name, { shape: [...v.shape], data: v.dataSync() as Float32Array });
  return sd;
}

/** The config as a safetensors `__metadata__` map (JSON-encoded values, as the fixtures store it). */
export function configToMetadata(config: MedNeXtConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) if (v !== undefined) out[k] = JSON.stringify(v);
  return out;
}

const CONFIG_KEYS = [
  'in_channels',
  'n_channels',
  'n_classes',
  'exp_r',
  'kernel_size',
  'enc_kernel_size',
  'dec_kernel_size',
  'deep_supervision',
  'do_res',
  'do_res_up_down',
  'block_counts',
  'grn',
  'norm_type',
  'checkpoint_style',
  'dim',
] as const;

/**
 * Recovers a config from a safetensors `__metadata__` map written by {@link configToMetadata} or by
 * the fixture generator. Returns null when the metadata holds no config.
 */
export function configFromMetadata(metadata: Record<string, string>): MedNeXtConfig | null {
  if (!('in_channels' in metadata && 'n_channels' in metadata && 'n_classes' in metadata)) return null;
  const out: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    if (!(key in metadata)) continue;
    const raw = metadata[key];
    try {
      out[key] = JSON.parse(raw);
    } catch {
      out[key] = raw; // plain strings such as norm_type=group
    }
  }
  return out as unknown as MedNeXtConfig;
}

/** Asynchronous {@link getStateDict}, for every backend. */
export async function readStateDict(model: MedNeXt): Promise<StateDict> {
  const sd: StateDict = new Map();
  for (const [name, v] of model.params) sd.set(name, { shape: [...v.shape], data: (await v.data()) as Float32Array });
  return sd;
}
