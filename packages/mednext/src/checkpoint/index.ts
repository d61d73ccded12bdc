/**
 * The checkpoint module (browser-safe): one {@link CheckpointMetadata} type with a format version, one writer
 * ({@link encodeCheckpointMetadata} / {@link encodeCheckpoint}), one reader ({@link decodeCheckpointMetadata} /
 * {@link decodeCheckpoint}), and the resume file of training. Files on disk: `@mednext-ts/mednext/node`
 * (`readCheckpointFile`, `writeCheckpointFile`).
 */
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  checkpointFormatVersion,
  checkpointMetadata,
  decodeCheckpointMetadata,
  encodeCheckpointMetadata,
  readCheckpointMetadata,
  type CheckpointMetadata,
  type CheckpointMetadataInput,
  type TrainingCheckpointInfo,
} from './metadata.js';
export {
  decodeCheckpoint,
  decodeResume,
  encodeCheckpoint,
  encodeResume,
  type DecodedCheckpoint,
  type ResumeState,
} from './codec.js';
