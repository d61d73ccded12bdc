/**
 * The GPU optimizer's state in the form the CPU trainer saves, and back, so resume files move between engines.
 *
 * The CPU path saves `AdamWScheduleFree.getWeights()` renamed to official names: `iter` (the step count), the
 * float64 group scalars packed as int32 words (`schedulefree/group`), then `<name>/z` and `<name>/exp_avg_sq`
 * per parameter in first-gradient order, in the PyTorch layout. The GPU optimizer holds the same numbers in its
 * JSON form, per parameter in the layout of its GPU weight (the transposed 1x1x1 convs OUT x IN): the
 * Schedule-Free update is element-wise, so only the layout of the saved arrays differs.
 */
import {
  float64ToInt32Words,
  GROUP_WEIGHT_NAME,
  int32WordsToFloat64,
  STATE_FORMAT,
  STATE_VERSION,
  type GroupScalars,
  type ScheduleFreeStateJSON,
} from '@mednext-ts/optim-schedulefree';
import { MedNeXtError } from '../../errors.js';
import type { OptimizerState } from '../optimizer.js';
import type { TrainedParameters } from './parameters.js';

const SLOTS = ['z', 'exp_avg_sq'] as const;

/** The GPU optimizer's JSON state → the CPU trainer's {@link OptimizerState} (official names, PyTorch layout). */
export function toOptimizerState(json: ScheduleFreeStateJSON, params: TrainedParameters): OptimizerState {
  const g = json.group;
  const state: OptimizerState = {
    kind: 'schedulefree',
    tensors: new Map(),
    words: {
      iter: [g.k],
      [GROUP_WEIGHT_NAME]: Array.from(
        float64ToInt32Words([g.k, g.weightSum, g.lrMax, g.scheduledLr, g.ckp1, g.trainMode ? 1 : 0]),
      ),
    },
    order: ['iter', GROUP_WEIGHT_NAME],
  };
  for (const p of json.params) {
    const param = params.get(p.name);
    for (const slot of SLOTS) {
      const key = `${p.name}/${slot}`;
      const data = params.toTorchLayout(p.name, Float32Array.from(p.slots[slot] as number[]));
      state.tensors.set(key, { shape: [...param.torchShape], data });
      state.order.push(key);
    }
  }
  return state;
}

/**
 * A CPU-saved (or {@link toOptimizerState}) state → the GPU optimizer's JSON form, per parameter in the GPU
 * weight's layout.
 * @throws MedNeXtError `CHECKPOINT_INVALID` naming the entry that is missing, unknown or mis-shaped
 */
export function fromOptimizerState(
  state: OptimizerState,
  params: TrainedParameters,
  config: Record<string, unknown>,
): ScheduleFreeStateJSON {
  const owner = 'WebGPU trainer loadState';
  const fail = (why: string): never => {
    throw new MedNeXtError('CHECKPOINT_INVALID', `${owner}: ${why}`);
  };
  if (state.kind !== 'schedulefree') {
    fail(`the state was saved by the '${state.kind}' optimizer; the GPU trainer runs Schedule-Free AdamW`);
  }
  const words = state.words[GROUP_WEIGHT_NAME];
  if (!words || words.length !== 12) fail(`'${GROUP_WEIGHT_NAME}' must hold 12 int32 words`);
  const [k, weightSum, lrMax, scheduledLr, ckp1, trainMode] = int32WordsToFloat64(words as number[]);
  const group: GroupScalars = {
    k: k!,
    weightSum: weightSum!,
    lrMax: lrMax!,
    scheduledLr: scheduledLr!,
    ckp1: ckp1!,
    trainMode: trainMode === 1,
  };
  if (state.words.iter?.[0] !== group.k) {
    fail(`'iter' (${state.words.iter?.[0]}) and the group's step count (${group.k}) disagree`);
  }
  const names: string[] = [];
  for (const key of state.order) {
    if (key === 'iter' || key === GROUP_WEIGHT_NAME) continue;
    const cut = key.lastIndexOf('/');
    const name = key.slice(0, cut);
    const slot = key.slice(cut + 1);
    if (cut <= 0 || !(SLOTS as readonly string[]).includes(slot)) fail(`unexpected entry '${key}'`);
    if (!params.has(name)) fail(`entry '${key}': no parameter named '${name}' is trained here`);
    if (!names.includes(name)) names.push(name);
  }
  const out: ScheduleFreeStateJSON['params'] = names.map((name) => {
    const param = params.get(name);
    const slots: Record<string, number[]> = {};
    for (const slot of SLOTS) {
      const t = state.tensors.get(`${name}/${slot}`) ?? fail(`'${name}/${slot}' is missing`);
      if (t.data.length !== param.tensor.length) {
        fail(`'${name}/${slot}' has ${t.data.length} values, shape [${param.torchShape}] needs ${param.tensor.length}`);
      }
      slots[slot] = Array.from(params.toGpuLayout(name, t.data));
    }
    return { name, shape: [...param.gpuShape], slots };
  });
  return { format: STATE_FORMAT, version: STATE_VERSION, className: 'AdamWScheduleFree', config, group, params: out };
}
