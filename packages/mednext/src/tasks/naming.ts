/**
 * File naming of a task's inputs: how a case's images and label map are named inside its folder.
 *
 * Patterns hold `{id}` (the case id), and for images `{modality}` (the modality name, e.g. `t1c`)
 * or `{channel}` (the channel index, four digits: `0000`, `0001`, ...). A pattern ending in
 * `.nii.gz` also matches the uncompressed `.nii` file, and the other way round.
 */

/** How a case's files are named. */
export interface InputNaming {
  /** Image file of one modality, e.g. `{id}-{modality}.nii.gz` or `{id}_{channel}.nii.gz`. */
  image: string;
  /** Label map, e.g. `{id}-seg.nii.gz` or `{id}.nii.gz`. */
  label: string;
}

/** BraTS 2023/2024: `BraTS-SSA-00002-000-t1c.nii.gz`, label `BraTS-SSA-00002-000-seg.nii.gz` (the default). */
export const BRATS_NAMING: InputNaming = { image: '{id}-{modality}.nii.gz', label: '{id}-seg.nii.gz' };

/** nnU-Net v2: `liver_001_0000.nii.gz` (channel 0), label `liver_001.nii.gz`. */
export const NNUNET_NAMING: InputNaming = { image: '{id}_{channel}.nii.gz', label: '{id}.nii.gz' };

const NIFTI_END = /\.nii(\.gz)?$/i;

/** The problem with a naming, or undefined when it is usable. */
export function namingProblem(naming: InputNaming): { field: 'image' | 'label'; problem: string } | undefined {
  for (const field of ['image', 'label'] as const) {
    const p = naming?.[field];
    if (typeof p !== 'string') return { field, problem: 'must be a pattern string' };
    if (p.split('{id}').length !== 2) return { field, problem: `must hold {id} exactly once, got '${p}'` };
    if (!NIFTI_END.test(p)) return { field, problem: `must end in .nii or .nii.gz, got '${p}'` };
    if (/[/\\]/.test(p)) return { field, problem: `must be a file name without folders, got '${p}'` };
    const unknown = /\{(?!id\}|modality\}|channel\})[^}]*\}/.exec(p);
    if (unknown) return { field, problem: `has unknown placeholder ${unknown[0]} (use {id}, {modality}, {channel})` };
  }
  if (!/\{modality\}|\{channel\}/.test(naming.image))
    return { field: 'image', problem: `must hold {modality} or {channel}, got '${naming.image}'` };
  if (/\{modality\}|\{channel\}/.test(naming.label))
    return { field: 'label', problem: `must not hold {modality} or {channel}, got '${naming.label}'` };
  return undefined;
}

function fill(pattern: string, id: string, modality = '', channel = 0): string {
  return pattern
    .replace('{id}', () => id)
    .replaceAll('{modality}', () => modality)
    .replaceAll('{channel}', () => String(channel).padStart(4, '0'));
}

/** File name of image `modality` (channel index `channel`) of case `id`. */
export function imageFileName(naming: InputNaming, id: string, modality: string, channel: number): string {
  return fill(naming.image, id, modality, channel);
}

/** File name of the label map of case `id`. */
export function labelFileName(naming: InputNaming, id: string): string {
  return fill(naming.label, id);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A case-insensitive expression matching the image of `modality` (channel `channel`) of any case,
 * the case id as group 1 (possibly empty).
 */
export function imageFilePattern(naming: InputNaming, modality: string, channel: number): RegExp {
  const stem = naming.image.replace(NIFTI_END, '');
  const parts = stem.split('{id}').map((part) => escape(fill(part, '', modality, channel)));
  return new RegExp(`^${parts[0]}(.*)${parts[1]}\\.nii(\\.gz)?$`, 'i');
}

/** A case-insensitive expression matching the label map of case `id`. */
export function labelFilePattern(naming: InputNaming, id: string): RegExp {
  return new RegExp(`^${escape(fill(naming.label.replace(NIFTI_END, ''), id))}\\.nii(\\.gz)?$`, 'i');
}

/** The naming of a task: its own, or the BraTS default. */
export function taskNaming(task: { inputNaming?: InputNaming }): InputNaming {
  return task.inputNaming ?? BRATS_NAMING;
}
