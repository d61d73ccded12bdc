/**
 * Turning what the user gave (picked files, dropped files or a dropped case folder) into named bytes, and
 * an early check of the modality names with the CLI's matcher, so a missing or doubled modality is
 * reported before anything runs.
 */
import { BRATS_MODALITIES } from '@mednext-ts/io-nifti';
// The subpath keeps the page's first load small (the root entry brings the whole network code).
import { matchCaseFiles } from '@mednext-ts/mednext/case-files';
import type { NamedBytes } from './protocol.js';

/** Files of one case and the name of the folder they came from, if any. */
export interface GivenCase {
  files: File[];
  folder?: string;
}

/** Reads every file of a dropped folder (recursively), in the order the browser lists them. */
async function readDirectory(entry: FileSystemDirectoryEntry): Promise<File[]> {
  const reader = entry.createReader();
  const entries: FileSystemEntry[] = [];
  // readEntries returns the listing in batches until an empty one.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    entries.push(...batch);
  }
  const files: File[] = [];
  for (const e of entries) {
    if (e.isFile)
      files.push(await new Promise<File>((resolve, reject) => (e as FileSystemFileEntry).file(resolve, reject)));
    else if (e.isDirectory) files.push(...(await readDirectory(e as FileSystemDirectoryEntry)));
  }
  return files;
}

/** The files of a drop: plain files, or the contents of one dropped folder. */
export async function filesFromDrop(transfer: DataTransfer): Promise<GivenCase> {
  const entries = [...transfer.items]
    .map((item) => item.webkitGetAsEntry?.())
    .filter((e): e is FileSystemEntry => e !== null && e !== undefined);
  const folders = entries.filter((e) => e.isDirectory);
  if (folders.length > 1) throw new Error(`${folders.length} folders dropped; drop the folder of one case`);
  if (folders.length === 1) {
    const folder = folders[0] as FileSystemDirectoryEntry;
    return { files: await readDirectory(folder), folder: folder.name };
  }
  return { files: [...transfer.files] };
}

/**
 * Checks the names against the BraTS modalities (the demo model's; a loaded checkpoint's own modalities
 * are checked again when the case runs). Returns a line for the page, or throws the matcher's message.
 */
export function describeCase(given: GivenCase): string {
  const match = matchCaseFiles(
    given.files.map((f) => f.name),
    BRATS_MODALITIES,
  );
  const id = match.id || given.folder || 'case';
  const label = match.label === undefined ? 'no label map' : `label map ${given.files[match.label]!.name}`;
  const ignored = match.ignored.length ? `; ignored: ${match.ignored.map((i) => given.files[i]!.name).join(', ')}` : '';
  return `case ${id}: ${BRATS_MODALITIES.length} modalities, ${label}${ignored}`;
}

/** Reads the files into memory. */
export async function readFiles(files: readonly File[]): Promise<NamedBytes[]> {
  return Promise.all(files.map(async (f) => ({ name: f.name, bytes: await f.arrayBuffer() })));
}
