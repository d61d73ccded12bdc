/**
 * gzip detection and the browser-capable (de)compressors. The defaults use the web-standard
 * `DecompressionStream`/`CompressionStream` (browsers, Node >= 18, Deno), which verify the gzip CRC-32 and
 * length trailer; the Node entry swaps in node:zlib, which is about 3x faster.
 */

/** Decompresses a complete gzip stream; must reject corrupt or truncated input. */
export type Decompressor = (gz: Uint8Array) => Uint8Array | Promise<Uint8Array>;
/** Compresses bytes into a gzip stream. */
export type Compressor = (raw: Uint8Array) => Uint8Array | Promise<Uint8Array>;

/** Whether bytes start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

async function pump(bytes: Uint8Array, transform: TransformStream<Uint8Array, Uint8Array>): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(transform);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** gunzip with the web `DecompressionStream` (throws on bad CRC, bad length or truncation). */
export const webGunzip: Decompressor = (gz) => {
  if (typeof DecompressionStream === 'undefined') {
    throw new Error(
      'DecompressionStream is not available here; pass a decompress function (e.g. from fflate or node:zlib)',
    );
  }
  return pump(gz, new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>);
};

/** gzip with the web `CompressionStream`. */
export const webGzip: Compressor = (raw) => {
  if (typeof CompressionStream === 'undefined') {
    throw new Error(
      'CompressionStream is not available here; pass a compress function (e.g. from fflate or node:zlib)',
    );
  }
  return pump(raw, new CompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>);
};
