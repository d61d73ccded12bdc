/**
 * Finding the probability maps written by `mednext predict --save-probabilities`.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { probabilityFileName } from '@mednext-ts/mednext/node';

/** What follows the case ID in a probability map's file name (the naming is predict's). */
const SUFFIX = probabilityFileName('');

/** Case IDs with a probability map in `dir`, sorted. */
export async function probabilityCaseIds(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new Error(
      `${dir}: cannot list folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { cause: error },
    );
  }
  const ids = names.filter((n) => n.endsWith(SUFFIX)).map((n) => n.slice(0, -SUFFIX.length));
  if (ids.length === 0)
    throw new Error(`${dir}: no *${SUFFIX} files (write them with mednext predict --save-probabilities)`);
  return ids.sort();
}

/** Path of a case's probability map in `dir`. */
export function probabilityPath(dir: string, id: string): string {
  return path.join(dir, probabilityFileName(id));
}
