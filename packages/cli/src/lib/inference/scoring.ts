/**
 * Scoring of predicted label maps with the task's evaluation protocol (`@mednext-ts/metrics`).
 */
import { describeProtocol, taskCaseScorer, taskEvaluationProtocol } from '@mednext-ts/mednext';

/** The evaluation protocol a task declares (a BraTS preset, or its own regions). */
export const protocolFor = taskEvaluationProtocol;

/** A case scorer with the task's protocol (mean over its regions of the Dice and HD95 it selects). */
export const taskScorer = taskCaseScorer;

/** `BraTS-SSA lesion-wise`, `liver region-wise`, ... */
export const protocolLabel = describeProtocol;
