/**
 * Losses for region-based (sigmoid, multi-label) segmentation, on logits and binary targets of the
 * same shape, channels last (NDHWC) — or any layout, as long as `channelAxis` says where channels are.
 *
 * Every function returns a scalar tensor and is differentiable with respect to the logits.
 */
import * as tf from '@tensorflow/tfjs-core';

/** `[N, ..., C]` → `[N, voxels, C]`. */
function flatten3(x: tf.Tensor): tf.Tensor {
  return tf.reshape(x, [x.shape[0], -1, x.shape[x.rank - 1]]);
}

/** Element-wise BCE with logits, numerically stable: max(x,0) − x·y + log(1 + e^−|x|). */
function bceElements(logits: tf.Tensor, target: tf.Tensor): tf.Tensor {
  return tf.add(tf.sub(tf.relu(logits), tf.mul(logits, target)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
}

/** Binary cross-entropy with logits, averaged over every element (PyTorch `BCEWithLogitsLoss`). */
export function bceWithLogits(logits: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(bceElements(logits, target)) as tf.Scalar);
}

/** Options of {@link softDice}. */
export interface SoftDiceOptions {
  /** Sum over the batch as well as space (one Dice per channel) instead of one per sample and channel. */
  batchDice?: boolean;
  /** Added to numerator and denominator. nnU-Net v1's BraTS-region loss uses 0. */
  smooth?: number;
  /** Axis of the channels; default the last (NDHWC). */
  channelAxis?: number;
}

/**
 * Mean soft Dice coefficient of `sigmoid(logits)` against a binary target, nnU-Net v1 form:
 * `(2tp + smooth) / (2tp + fp + fn + smooth + 1e-8)`, averaged over samples and channels
 * (or over channels only with `batchDice`). All channels are included.
 */
export function softDice(logitsIn: tf.Tensor, targetIn: tf.Tensor, options: SoftDiceOptions = {}): tf.Scalar {
  return tf.tidy(() => {
    let channelAxis = ((options.channelAxis ?? -1) + logitsIn.rank) % logitsIn.rank;
    let logits = logitsIn;
    let target = targetIn;
    if (channelAxis === logitsIn.rank - 1 && logitsIn.rank > 3) {
      // Channels last: work on [N, voxels, C] views (rank-5 programs are not portable to webgpu).
      logits = flatten3(logitsIn);
      target = flatten3(targetIn);
      channelAxis = 2;
    }
    const rank = logits.rank;
    const smooth = options.smooth ?? 0;
    const axes: number[] = [];
    for (let a = options.batchDice ? 0 : 1; a < rank; a++) if (a !== channelAxis) axes.push(a);
    const p = tf.sigmoid(logits);
    const tp = tf.sum(tf.mul(p, target), axes);
    const sumP = tf.sum(p, axes);
    const sumY = tf.sum(target, axes);
    // 2tp + fp + fn = Σp + Σy.
    const dice = tf.div(tf.add(tf.mul(tp, 2), smooth), tf.add(tf.add(tf.add(sumP, sumY), smooth), 1e-8));
    return tf.mean(dice) as tf.Scalar;
  });
}

/**
 * nnU-Net v1's BraTS-region loss: BCE with logits + soft Dice term, where the Dice term is
 * `−mean(dice)` (per sample and channel, smooth 0). A perfect prediction scores ≈ −1.
 */
export function regionDiceBceLoss(logits: tf.Tensor, target: tf.Tensor, options: SoftDiceOptions = {}): tf.Scalar {
  return tf.tidy(
    () => tf.sub(bceWithLogits(logits, target), softDice(logits, target, { smooth: 0, ...options })) as tf.Scalar,
  );
}

/** Options of {@link sigmoidFocalLoss}. */
export interface FocalOptions {
  /** Focusing exponent; 2 in the seed recipe. */
  gamma?: number;
  /** Optional class balance weight for positives (negatives get 1 − alpha); none by default. */
  alpha?: number;
}

/**
 * Sigmoid focal loss (Lin et al. 2017), mean over all elements:
 * `(1 − p_t)^gamma · BCE`, with p_t the probability of the true label.
 */
export function sigmoidFocalLoss(logits: tf.Tensor, target: tf.Tensor, options: FocalOptions = {}): tf.Scalar {
  return tf.tidy(() => {
    const gamma = options.gamma ?? 2;
    const p = tf.sigmoid(logits);
    // 1 − p_t = p + y − 2py  (= 1 − p for y = 1, p for y = 0; also right for soft targets at 0/1).
    const oneMinusPt = tf.sub(tf.add(p, target), tf.mul(tf.mul(p, target), 2));
    let loss = tf.mul(tf.pow(oneMinusPt, gamma), bceElements(logits, target));
    if (options.alpha !== undefined) {
      const a = options.alpha;
      loss = tf.mul(loss, tf.add(tf.mul(target, 2 * a - 1), 1 - a));
    }
    return tf.mean(loss) as tf.Scalar;
  });
}

/** Options of {@link batchDiceFocalLoss}. */
export interface DiceFocalOptions extends FocalOptions {
  /** Dice smoothing; default 1e-5. */
  smooth?: number;
  channelAxis?: number;
}

/**
 * The seed recipe's loss: `(1 − batch Dice) + focal(gamma 2)`. The batch Dice sums over batch and
 * space (one coefficient per channel, then averaged over channels).
 */
export function batchDiceFocalLoss(logits: tf.Tensor, target: tf.Tensor, options: DiceFocalOptions = {}): tf.Scalar {
  return tf.tidy(() => {
    const dice = softDice(logits, target, {
      batchDice: true,
      smooth: options.smooth ?? 1e-5,
      channelAxis: options.channelAxis,
    });
    return tf.add(tf.sub(1, dice), sigmoidFocalLoss(logits, target, options)) as tf.Scalar;
  });
}
