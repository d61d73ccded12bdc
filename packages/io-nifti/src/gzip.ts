/**
 * gzip detection and the browser-capable (de)compressors. The defaults use the web-standard
 * `DecompressionStream`/`CompressionStream` (browsers, Node >= 18, Deno), which verify the gzip CRC-32 and
 * length trailer; the Node entry swaps in node:zlib, which is about 3x faster.
 *
 * Reading inflates through a {@link BoundedDecompressor}: the first inflated bytes (the NIfTI header) decide how
 * many bytes the whole stream may inflate to, so a small file that claims a tiny image but inflates to
 * gigabytes (a "gzip bomb") is stopped after at most that many bytes instead of filling memory.
 */

/** Decompresses a complete gzip stream; must reject corrupt or truncated input. */
export type Decompressor = (gz: Uint8Array) => Uint8Array | Promise<Uint8Array>;
/** Compresses bytes into a gzip stream. */
export type Compressor = (raw: Uint8Array) => Uint8Array | Promise<Uint8Array>;

/**
 * Decides from the first inflated bytes how many bytes the whole output may hold: a byte count, or
 * `undefined` while `head` is too short to tell. It may throw to reject the stream early (e.g. a bad header).
 */
export type OutputLimit = (head: Uint8Array) => number | undefined;

/**
 * Decompresses a gzip stream chunk by chunk, asking `limit` for the allowed output size and stopping with an
 * {@link InflateLimitError} as soon as the output would exceed it. Must reject corrupt or truncated input.
 */
export type BoundedDecompressor = (gz: Uint8Array, limit: OutputLimit) => Promise<Uint8Array>;

/** Raised by a {@link BoundedDecompressor} when the stream inflates past the allowed size. */
export class InflateLimitError extends Error {
  override readonly name = 'InflateLimitError';

  constructor(
    /** The allowed size in bytes. */
    readonly limit: number,
  ) {
    super(`gzip stream inflates to more than ${limit} bytes`);
  }
}

/** Whether bytes start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Collects inflated chunks under a size limit decided by {@link OutputLimit}. `push` throws
 * {@link InflateLimitError} when the output grows past the limit; `finish` returns the bytes as one buffer.
 */
export class BoundedOutput {
  private readonly chunks: Uint8Array[] = [];
  private total = 0;
  private max: number | undefined;

  constructor(private readonly limit: OutputLimit) {}

  /** Adds one inflated chunk; the chunk must not be reused by the caller. */
  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.total += chunk.length;
    if (this.max === undefined) {
      this.max = this.limit(this.chunks.length === 1 ? chunk : this.concat());
    }
    if (this.max !== undefined && this.total > this.max) throw new InflateLimitError(this.max);
  }

  /** All bytes pushed so far as one fresh buffer; asks the limit once more for streams shorter than a header. */
  finish(): Uint8Array {
    const bytes = this.concat();
    if (this.max === undefined) this.limit(bytes);
    return bytes;
  }

  private concat(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0]!;
    const out = new Uint8Array(this.total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    this.chunks.length = 0;
    this.chunks.push(out);
    return out;
  }
}

async function pump(bytes: Uint8Array, transform: TransformStream<Uint8Array, Uint8Array>): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(transform);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function decompressionStream(): TransformStream<Uint8Array, Uint8Array> {
  if (typeof DecompressionStream === 'undefined') {
    throw new Error(
      'DecompressionStream is not available here; pass a decompress function (e.g. from fflate or node:zlib)',
    );
  }
  return new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>;
}

/** gunzip with the web `DecompressionStream` (throws on bad CRC, bad length or truncation). */
export const webGunzip: Decompressor = (gz) => pump(gz, decompressionStream());

/** {@link webGunzip} that reads the stream chunk by chunk and stops at the size `limit` allows. */
export const webGunzipBounded: BoundedDecompressor = async (gz, limit) => {
  const reader = new Blob([gz as Uint8Array<ArrayBuffer>]).stream().pipeThrough(decompressionStream()).getReader();
  const out = new BoundedOutput(limit);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      out.push(value);
    }
  } catch (error) {
    // Stop inflating: cancelling the reader tears the pipe down without reading the rest.
    await reader.cancel().catch(() => undefined);
    throw error;
  }
  return out.finish();
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
