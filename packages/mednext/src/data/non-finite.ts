/**
 * Non-finite input voxels (NaN, ±Infinity). One NaN makes the z-score's mean NaN and turns a whole modality
 * into NaN, which the network answers with an all-background segmentation: so they are found before any
 * normalisation and either refused with a message naming the file, the modality and the count, or, when the
 * caller asks for it explicitly, set to 0 (background) with a report of how many voxels changed.
 */
import type { ChannelVolume } from '@mednext-ts/tensor3d';

/** Non-finite voxels found in one modality. */
export interface NonFiniteCount {
  modality: string;
  /** The file the modality came from, when known. */
  file?: string;
  /** Number of NaN or infinite voxels. */
  count: number;
}

/** A case whose input holds NaN or infinite voxels; `counts` lists the affected modalities. */
export class NonFiniteInputError extends Error {
  override readonly name = 'NonFiniteInputError';
  /** Stable reason code, as {@link NiftiError}'s. */
  readonly code = 'NON_FINITE';

  constructor(
    readonly caseId: string,
    readonly counts: NonFiniteCount[],
    /** The option that repairs the input, named in the message (e.g. `--repair-non-finite`). */
    repairHint: string,
  ) {
    // File names identify the case already; without them the case id does.
    super(
      `${counts.every((c) => c.file !== undefined) ? '' : `case ${caseId}: `}${counts.map(describeCount).join('; ')}; ` +
        `fix the input, or ${repairHint} to set them to 0 before normalisation`,
    );
  }
}

/** `/data/x-t1n.nii.gz: 3 non-finite voxel(s) (NaN or infinite) in modality t1n` (without the file when unknown). */
export function describeCount(c: NonFiniteCount): string {
  return `${c.file !== undefined ? `${c.file}: ` : ''}${c.count} non-finite voxel(s) (NaN or infinite) in modality ${c.modality}`;
}

/** Counts the NaN and infinite voxels of each channel of `[c, nx, ny, nz]`; only channels with some are listed. */
export function countNonFinite(
  image: Pick<ChannelVolume, 'data' | 'shape'>,
  modalities: readonly string[],
  files: Readonly<Record<string, string>> = {},
): NonFiniteCount[] {
  const [c, nx, ny, nz] = image.shape;
  const n = nx * ny * nz;
  const out: NonFiniteCount[] = [];
  for (let ch = 0; ch < c; ch++) {
    let count = 0;
    const data = image.data;
    for (let i = ch * n, end = (ch + 1) * n; i < end; i++) if (!Number.isFinite(data[i]!)) count++;
    if (count > 0) {
      const modality = modalities[ch] ?? `channel ${ch}`;
      out.push({ modality, ...(files[modality] !== undefined ? { file: files[modality] } : {}), count });
    }
  }
  return out;
}

const DEFAULT_REPAIR_HINT = "pass --repair-non-finite (checkFiniteInput with policy 'zero' in the API)";

/** What to do with non-finite voxels: refuse the case (default) or set them to 0. */
export type NonFinitePolicy = 'error' | 'zero';

/** Input of {@link checkFiniteInput}: a case as loaded (e.g. a `BratsCase` from io-nifti). */
export interface CaseChannels {
  id: string;
  modalities: readonly string[];
  image: Pick<ChannelVolume, 'data' | 'shape'>;
  /** Source file per modality, for messages. */
  files?: Readonly<Record<string, string>>;
}

/**
 * Checks a case for non-finite voxels before normalisation. With `policy: 'error'` (default) a case that has
 * any throws {@link NonFiniteInputError}; with `'zero'` they are set to 0 in place (0 is background, outside
 * the z-score's non-zero mask) and the counts are returned so the caller can report them.
 *
 * @example
 * ```ts
 * const repaired = checkFiniteInput(bratsCase, { policy: flags['repair-non-finite'] ? 'zero' : 'error' });
 * for (const r of repaired) log(`repaired ${describeCount(r)}`);
 * ```
 * @returns the counts per modality that were repaired (empty when the input was finite).
 */
export function checkFiniteInput(
  input: CaseChannels,
  options: { policy?: NonFinitePolicy; repairHint?: string } = {},
): NonFiniteCount[] {
  const counts = countNonFinite(input.image, input.modalities, input.files);
  if (counts.length === 0) return counts;
  if ((options.policy ?? 'error') === 'error') {
    throw new NonFiniteInputError(input.id, counts, options.repairHint ?? DEFAULT_REPAIR_HINT);
  }
  const data = input.image.data;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) data[i] = 0;
  return counts;
}
