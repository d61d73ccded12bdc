/**
 * Recognises weight files that are not safetensors by their first bytes, so the error says what the file is
 * and how to convert it, instead of reading its first 8 bytes as an absurd safetensors header length.
 */

/** The pickled magic number that opens a legacy PyTorch checkpoint: protocol 2, then LONG1 0x1950a86a20f9469cfc6c. */
const LEGACY_TORCH_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

const RESAVE =
  "load it in Python and save it again with torch >= 1.6 (torch.save(torch.load(f, map_location='cpu'), 'model.pth')" +
  ' writes the zip format), or convert it to .safetensors';

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  return bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b);
}

/**
 * What a non-safetensors weight file is, as a sentence for an error message, or `undefined` when its first
 * bytes match no format known here.
 */
export function describeForeignWeights(bytes: Uint8Array): string | undefined {
  if (startsWith(bytes, LEGACY_TORCH_MAGIC)) {
    return `this is a legacy (pre-1.6, non-zip) PyTorch checkpoint, which cannot be read here; ${RESAVE}`;
  }
  if (startsWith(bytes, [0x80]) && bytes[1]! >= 2 && bytes[1]! <= 5) {
    return `this is a Python pickle (e.g. an old PyTorch checkpoint saved without the zip format), not a weight file that can be read here; ${RESAVE}`;
  }
  if (startsWith(bytes, [0x75, 0x73, 0x74, 0x61, 0x72], 257)) {
    return `this is a tar archive (the PyTorch format before 0.4), which cannot be read here; ${RESAVE}`;
  }
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) {
    return 'this is a zip archive (a PyTorch >= 1.6 checkpoint?), not a .safetensors file; load it with parseWeights/readWeights';
  }
  if (startsWith(bytes, [0x1f, 0x8b])) return 'this file is gzip-compressed; decompress it first';
  if (startsWith(bytes, [0x89, 0x48, 0x44, 0x46])) return 'this is an HDF5 file (Keras?), not a safetensors file';
  return undefined;
}
