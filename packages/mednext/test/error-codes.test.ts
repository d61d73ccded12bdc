/**
 * One failure per {@link MedNeXtErrorCode}: each row provokes the failure a user would meet and checks the code a
 * caller branches on, the file the error names (when it concerns one) and the exact message the user reads.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { selectBackend } from '@mednext-ts/tensor3d';
import { MedNeXtError, isMedNeXtError, type MedNeXtErrorCode } from '../src/errors.js';
import { openZip } from '../src/weights/zip.js';
import { readPth } from '../src/weights/pth.js';
import { inferMedNeXtConfig } from '../src/weights/infer-config.js';
import { parseNpy, serializeNpy } from '../src/io/npy.js';
import { presetConfig, type PresetName } from '../src/model/config.js';
import { MedNeXt } from '../src/model/mednext.js';
import { ensembleProbabilities } from '../src/inference/pipeline.js';
import { checkModelsAgainstTask, type CheckpointModel } from '../src/inference/checkpoint.js';
import { resolveCaseInputs } from '../src/inference/node/inputs.js';
import { parseShard } from '../src/inference/shard.js';
import { loadCaseFolder } from '../src/data/node/case-files.js';
import { discoverCases, parseRoot } from '../src/data/node/discover.js';
import { caseMetaPath, readCaseMeta, writeFileAtomic } from '../src/data/node/cache.js';
import { normalizeChannel } from '../src/data/normalization.js';
import { checkSplits } from '../src/data/folds.js';
import { parsePostprocessConfig } from '../src/postprocess/config.js';
import { TaskRegistry, tasksFromModule } from '../src/tasks/registry.js';
import { NamedRegistry } from '../src/tasks/named-registry.js';
import { postprocessSteps, registerPostprocessStep, type PostprocessStep } from '../src/tasks/postprocess-steps.js';
import { NNUNET_NAMING } from '../src/tasks/naming.js';
import { TaskDefinitionError, defineTask } from '../src/tasks/task.js';
import { createWebGpuNetwork } from '../src/network/engines/webgpu/network.js';
import { planDeviceEngine } from '../src/network/plan.js';
import { WebGPURegionLoss } from '../src/losses/webgpu/webgpu-region-loss.js';
import { smallSsaTask } from './helpers/ssa-task.js';

let tmp = '';
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mednext-error-codes-'));
  await selectBackend('cpu');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** The error `run` throws (or rejects with); fails the test when it does not throw. */
async function caught(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure, none was thrown');
}

/** A fake GPU device: enough for the checks the region loss makes before it dispatches anything. */
function fakeDevice(maxStorageBufferBindingSize = 1 << 27): GPUDevice {
  return {
    createBuffer: () => ({}),
    limits: { maxStorageBufferBindingSize, maxComputeWorkgroupsPerDimension: 65535 },
  } as unknown as GPUDevice;
}

interface Row {
  code: MedNeXtErrorCode;
  what: string;
  run: () => unknown;
  message: string | RegExp;
  /** The file the error names; a function of the scratch folder, read when the row runs. */
  file?: () => string;
}

const task = () => smallSsaTask();
const tiny = () => MedNeXt.create(presetConfig('S', { inChannels: 2, outChannels: 3 }));

const rows: Row[] = [
  {
    code: 'WEIGHTS_INVALID',
    what: 'a .pth that is not a ZIP archive',
    run: () => openZip(new Uint8Array(64), 'model.pth'),
    message: 'model.pth: not a ZIP archive (no end-of-central-directory record)',
    file: () => 'model.pth',
  },
  {
    code: 'WEIGHTS_UNSUPPORTED',
    what: 'a legacy (non-zip) torch.save file',
    run: () => readPth(new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0, 0, 0, 0]), 'old.pth'),
    message:
      'old.pth: not a zip-format PyTorch checkpoint (legacy torch.save files from PyTorch < 1.6 are not supported; ' +
      're-save with a current PyTorch or convert to .safetensors)',
    file: () => 'old.pth',
  },
  {
    code: 'WEIGHTS_MISMATCH',
    what: 'a state dict without a MedNeXt stem',
    run: () => inferMedNeXtConfig(new Map([['encoder.weight', { shape: [4, 4] }]]), 'unet.safetensors'),
    message: "unet.safetensors: no 'stem.weight' tensor; this does not look like a MedNeXt state dict",
    file: () => 'unet.safetensors',
  },
  {
    code: 'NPY_INVALID',
    what: 'a truncated .npy file',
    run: () => {
      const full = serializeNpy(new Float32Array(8), [8]);
      return parseNpy(full.subarray(0, full.length - 16), 'probs.npy');
    },
    message: 'probs.npy: truncated: expected 32 data bytes, found 16',
    file: () => 'probs.npy',
  },
  {
    code: 'MODEL_CONFIG',
    what: 'an unknown preset',
    run: () => presetConfig('XL' as PresetName),
    message: "unknown MedNeXt preset 'XL' (expected one of S, B, M, L)",
  },
  {
    code: 'MODEL_INPUT',
    what: 'an input with the wrong number of channels',
    run: () => {
      const model = tiny();
      try {
        return tf.tidy(() => model.forward(tf.zeros([1, 16, 16, 16, 3]) as tf.Tensor5D));
      } finally {
        model.dispose();
      }
    },
    message: 'MedNeXt.forward: input has 3 channels (last axis, NDHWC), the model expects 2',
  },
  {
    code: 'ENSEMBLE_INVALID',
    what: 'an ensemble of no models',
    run: () => ensembleProbabilities({ data: new Float32Array(16), shape: [2, 2, 2, 2] }, []),
    message: 'inference: no models given',
  },
  {
    code: 'INPUT_MISSING',
    what: 'an input path that does not exist',
    run: () => resolveCaseInputs([path.join(tmp, 'no-such-case')], ['t1n']),
    message: /no-such-case: no such file or folder$/,
    file: () => path.join(tmp, 'no-such-case'),
  },
  {
    code: 'INPUT_MISSING',
    what: 'a case folder without the file of a modality',
    run: async () => {
      const dir = path.join(tmp, 'case-without-t1n');
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'case_0001.nii.gz'), '');
      return loadCaseFolder(dir, ['t1n', 't2w'], NNUNET_NAMING);
    },
    message: /case-without-t1n: no image of modality t1n \(expected a file named like <ID>_0000\.nii\.gz\)$/,
    file: () => path.join(tmp, 'case-without-t1n'),
  },
  {
    code: 'INPUT_INVALID',
    what: 'a file that is not NIfTI given as a modality',
    run: async () => {
      await writeFile(path.join(tmp, 'notes.txt'), 'x');
      return resolveCaseInputs([path.join(tmp, 'notes.txt')], ['t1n']);
    },
    message: /notes\.txt: not a NIfTI file \(\.nii or \.nii\.gz\)$/,
    file: () => path.join(tmp, 'notes.txt'),
  },
  {
    code: 'DATASET_INVALID',
    what: 'a dataset root without cases',
    run: async () => {
      await mkdir(path.join(tmp, 'empty-root'), { recursive: true });
      return discoverCases([parseRoot(path.join(tmp, 'empty-root'))], ['t1n']);
    },
    message: /^dataset root .*empty-root: no case folders with \*-t1n\.nii\.gz files found/,
    file: () => path.join(tmp, 'empty-root'),
  },
  {
    code: 'NORMALIZATION_INVALID',
    what: 'an unknown normalisation',
    run: () => normalizeChannel(new Float32Array(8), [2, 2, 2], 'no-such-norm', 'case A, t1n'),
    message: /^case A, t1n: unknown normalisation 'no-such-norm' \(known: .*zscore-nonzero.*\)$/,
  },
  {
    code: 'SHARD_INVALID',
    what: 'a shard index past the count',
    run: () => parseShard('5/4'),
    message: '--shard: shard index 5 is not in 0..3',
  },
  {
    code: 'CACHE_INVALID',
    what: 'a case missing from the preprocessing cache',
    run: () => readCaseMeta(tmp, 'absent-case'),
    message: /absent-case\.json: cannot read case metadata \(.*ENOENT.*\); run mednext preprocess first$/,
    file: () => caseMetaPath(tmp, 'absent-case'),
  },
  {
    code: 'CACHE_MISMATCH',
    what: 'a cache written by another cache version',
    run: async () => {
      await writeFile(caseMetaPath(tmp, 'old-case'), JSON.stringify({ version: 99 }));
      return readCaseMeta(tmp, 'old-case');
    },
    message: /old-case\.json: cache version 99, this mednext reads 1; preprocess again with --overwrite$/,
    file: () => caseMetaPath(tmp, 'old-case'),
  },
  {
    code: 'CACHE_WRITE_FAILED',
    what: 'a cache file in a folder that does not exist',
    run: () => writeFileAtomic(path.join(tmp, 'no-folder', 'a.json'), '{}'),
    message: /^cannot write .*a\.json: ENOENT/,
    file: () => path.join(tmp, 'no-folder', 'a.json'),
  },
  {
    code: 'SPLITS_INVALID',
    what: 'a splits file with one fold',
    run: () => checkSplits({ folds: [{ train: [], val: [] }] }, 'splits.json'),
    message: 'splits.json: expected {"folds": [...]} with >= 2 folds',
    file: () => 'splits.json',
  },
  {
    code: 'POSTPROCESS_CONFIG',
    what: 'a postprocessing file that is not an object',
    run: () => parsePostprocessConfig([], 'postprocessing.json'),
    message: /^postprocessing\.json: /,
    file: () => 'postprocessing.json',
  },
  {
    code: 'TASK_UNKNOWN',
    what: 'an unknown task id',
    run: () => new TaskRegistry().get('no-such-task'),
    message: "unknown task 'no-such-task' (registered tasks: none)",
  },
  {
    code: 'TASK_DUPLICATE',
    what: 'one task id from two plugins',
    run: () => {
      const registry = new TaskRegistry();
      registry.register([task()], 'plugin-a');
      registry.register([task()], 'plugin-b');
    },
    message:
      "task 'ssa-test' from plugin-b is already registered by plugin-a; remove one of the plugins, or let plugin-b " +
      'replace it with MEDNEXT_TASK_OVERRIDE=ssa-test=plugin-b',
  },
  {
    code: 'TASK_INVALID',
    what: 'a task id with capitals',
    run: () => defineTask({ ...task(), id: 'Bad Id' }),
    message: "task 'Bad Id': id: must be lower-case letters, digits and dashes, starting with a letter",
  },
  {
    code: 'TASK_PLUGIN_INVALID',
    what: 'a plugin without `tasks`',
    run: () => tasksFromModule({}, 'mednext-plugin-x'),
    message: "mednext-plugin-x does not export an array named 'tasks'",
  },
  {
    code: 'TASK_MISMATCH',
    what: 'a model that predicts another number of regions than the task',
    run: () =>
      checkModelsAgainstTask(
        [
          { name: 'fold_0.json', outChannels: 2, inChannels: 4, info: { regions: [], modalities: [] } },
        ] as unknown as CheckpointModel[],
        task(),
      ),
    message: /^fold_0\.json predicts 2 regions; task 'ssa-test' has 3 \(WT, TC, ET\)$/,
  },
  {
    code: 'REGISTRY_UNKNOWN',
    what: 'an unknown postprocessing step',
    run: () => postprocessSteps.get('no-such-step'),
    message: /^unknown postprocessing step 'no-such-step' \(known: .+\)$/,
  },
  {
    code: 'REGISTRY_DUPLICATE',
    what: 'a name registered twice',
    run: () => {
      const registry = new NamedRegistry<{ name: string; source?: string }>('widget');
      registry.register({ name: 'w', source: 'a' });
      registry.register({ name: 'w', source: 'b' });
    },
    message: "widget 'w' from b is already registered by a (pass { override: true } to replace it)",
  },
  {
    code: 'REGISTRY_NAME_INVALID',
    what: 'a registry name with capitals',
    run: () => new NamedRegistry<{ name: string }>('widget').register({ name: 'Wide' }),
    message: 'widget name must be lower-case letters, digits and dashes, got Wide',
  },
  {
    code: 'REGISTRY_ENTRY_INVALID',
    what: 'a postprocessing step without apply',
    run: () => registerPostprocessStep({ name: 'no-apply' } as unknown as PostprocessStep),
    message: "postprocessing step 'no-apply' must implement apply(mask, shape, params)",
  },
  {
    code: 'GPU_UNSUPPORTED',
    what: 'the former f16 option of the WebGPU engine',
    run: async () => {
      const model = tiny();
      try {
        return await createWebGpuNetwork(model, { f16: true });
      } finally {
        model.dispose();
      }
    },
    message:
      "createWebGpuNetwork: there is no `f16` option; f16 storage of the activations kept for training is `activationStorage: 'f16'` (the forward computes in f32)",
  },
  {
    code: 'GPU_UNAVAILABLE',
    what: '--backend webgpu on a machine without an adapter',
    run: () => planDeviceEngine('webgpu', { found: false, reason: 'no WebGPU adapter (navigator.gpu is missing)' }),
    message: '--backend webgpu: no WebGPU adapter (navigator.gpu is missing)',
  },
  {
    code: 'LOSS_CONFIG',
    what: 'a GPU loss with a negative focal gamma',
    run: () => new WebGPURegionLoss(fakeDevice(), { loss: 'dice-focal', options: { gamma: -1 } }, [[1, 16, 16, 16, 3]]),
    message: 'WebGPURegionLoss: gamma must be a finite number >= 0, got -1',
  },
  {
    code: 'GPU_INPUT',
    what: 'a GPU loss output of rank 2',
    run: () => new WebGPURegionLoss(fakeDevice(), { loss: 'dice-bce' }, [[1, 3]]),
    message: 'WebGPURegionLoss: output 0 has shape [1,3]; expected [N, ...spatial, C] or [N, C, ...spatial]',
  },
  {
    code: 'GPU_LIMIT',
    what: 'a GPU loss output above the binding size',
    run: () => new WebGPURegionLoss(fakeDevice(1024), { loss: 'dice-bce' }, [[1, 16, 16, 16, 3]]),
    message:
      "WebGPURegionLoss: output 0 of shape [1,16,16,16,3] is 49152 bytes, above this device's " +
      'maxStorageBufferBindingSize (1024); use a smaller batch or patch',
  },
];

describe('MedNeXtError codes', () => {
  // The region loss names its buffers' usage with the WebGPU globals; Node has none without a GPU package.
  beforeAll(() => {
    if (typeof globalThis.GPUBufferUsage === 'undefined') {
      vi.stubGlobal('GPUBufferUsage', { STORAGE: 128, COPY_SRC: 4, COPY_DST: 8 });
    }
  });
  afterAll(() => {
    vi.unstubAllGlobals();
  });

  it.each(rows.map((row) => [row.code, row.what, row] as const))('%s: %s', async (code, _what, row) => {
    const error = await caught(row.run);
    expect(isMedNeXtError(error, code), String(error)).toBe(true);
    const e = error as MedNeXtError;
    if (typeof row.message === 'string') expect(e.message).toBe(row.message);
    else expect(e.message).toMatch(row.message);
    expect(e.file).toBe(row.file?.());
  });

  it('keeps TaskDefinitionError a MedNeXtError with its field and name', async () => {
    const error = await caught(() => defineTask({ ...task(), id: 'Bad Id' }));
    expect(error).toBeInstanceOf(TaskDefinitionError);
    expect(error).toBeInstanceOf(MedNeXtError);
    expect((error as TaskDefinitionError).field).toBe('id');
    expect((error as TaskDefinitionError).name).toBe('TaskDefinitionError');
    expect(isMedNeXtError(error, 'TASK_MISMATCH')).toBe(false);
  });
});
