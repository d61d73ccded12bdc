/**
 * "Did you mean ...?" for a mistyped command: the closest command id by edit distance (a transposition counts as
 * one edit, as in `predcit`).
 */

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/**
 * The known ids closest to `typed` (ties all returned, in the given order), or none when even the closest needs
 * more than a third of the typed length in edits (at least 2 allowed): an unrelated word gets no suggestion.
 */
export function closestCommands(typed: string, known: readonly string[]): string[] {
  const limit = Math.max(2, Math.floor(typed.length / 3));
  let best = Infinity;
  let found: string[] = [];
  for (const id of known) {
    const distance = editDistance(typed, id);
    if (distance < best) {
      best = distance;
      found = [id];
    } else if (distance === best) found.push(id);
  }
  return best <= limit ? found : [];
}
