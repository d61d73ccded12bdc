/**
 * Consistency checks between loaded checkpoints and the task they are used for (shared with the web app,
 * so they live in @mednext-ts/mednext).
 */
import type { CheckpointModel } from '@mednext-ts/mednext';

export { checkModelsAgainstTask } from '@mednext-ts/mednext';

/** A checkpoint loaded for inference, with what its metadata says. */
export type LoadedModel = CheckpointModel;
