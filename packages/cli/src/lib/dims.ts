/** Parsing of the `DxHxW` size flags (patch sizes, export shapes). */

/**
 * Splits `128x160x112` (or `128,160,112`) into its three sizes; null unless it is exactly three positive
 * integers. Callers word the error for their flag.
 */
export function parseDims3(text: string): [number, number, number] | null {
  const parts = text.split(/[x,]/).map((s) => Number(s.trim()));
  return parts.length === 3 && parts.every((n) => Number.isInteger(n) && n > 0)
    ? (parts as [number, number, number])
    : null;
}
