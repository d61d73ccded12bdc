/**
 * A minimal Protocol Buffers (proto3) writer: exactly what is needed to serialise an ONNX model
 * (varints, length-delimited fields, packed repeated scalars). No reader, no schema compiler: the
 * message layouts live in {@link ./onnx-proto.ts}.
 *
 * Wire format facts used here (protobuf encoding guide): a field is a key `(number << 3) | wireType`
 * followed by its payload; wire type 0 = varint, 2 = length-delimited, 5 = 32-bit little endian.
 */

/** Wire types used by ONNX messages. */
const VARINT = 0;
const LEN = 2;
const I32 = 5;

/** Grows-on-demand byte sink with protobuf primitives. */
export class ProtoWriter {
  private buf: Uint8Array;
  private len = 0;

  constructor(initialBytes = 256) {
    this.buf = new Uint8Array(Math.max(16, initialBytes));
  }

  private reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /**
   * Unsigned varint of a non-negative integer up to 2^53 (JS numbers are exact there; ONNX sizes and
   * dims never come close). Arithmetic instead of bit operators, which would truncate at 32 bits.
   */
  varint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new Error(`protobuf: varint must be a non-negative safe integer, got ${value}`);
    }
    this.reserve(10);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
    return this;
  }

  /**
   * int64 as a varint: negative values use the 64-bit two's complement (10 bytes), as protobuf does
   * for `int64` fields (ONNX uses int64 for e.g. `axes` and pads, which may be negative).
   */
  int64(value: number): this {
    if (!Number.isSafeInteger(value)) throw new Error(`protobuf: int64 must be a safe integer, got ${value}`);
    if (value >= 0) return this.varint(value);
    this.reserve(10);
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
    return this;
  }

  /** Raw bytes, no framing. */
  bytes(data: Uint8Array): this {
    this.reserve(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  private key(field: number, wireType: number): this {
    return this.varint(field * 8 + wireType);
  }

  /** Field of type int32/int64/enum/bool. */
  intField(field: number, value: number): this {
    return this.key(field, VARINT).int64(value);
  }

  /** Field of type `float` (fixed 32-bit, little endian). */
  floatField(field: number, value: number): this {
    this.key(field, I32);
    this.reserve(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, value, true);
    this.len += 4;
    return this;
  }

  /** Length-delimited field: bytes or an embedded message already serialised. */
  bytesField(field: number, data: Uint8Array): this {
    return this.key(field, LEN).varint(data.length).bytes(data);
  }

  /** Field of type `string` (UTF-8). */
  stringField(field: number, value: string): this {
    return this.bytesField(field, new TextEncoder().encode(value));
  }

  /** Embedded message written by `write` into a fresh writer (its length must be known before its bytes). */
  messageField(field: number, write: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    write(inner);
    return this.bytesField(field, inner.finish());
  }

  /** Packed repeated int64 (proto3 default for repeated scalars). */
  packedInt64Field(field: number, values: readonly number[]): this {
    const inner = new ProtoWriter(values.length * 2 + 8);
    for (const v of values) inner.int64(v);
    return this.bytesField(field, inner.finish());
  }

  /** Packed repeated float. */
  packedFloatField(field: number, values: readonly number[]): this {
    const data = new Uint8Array(values.length * 4);
    const view = new DataView(data.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return this.bytesField(field, data);
  }

  /** Bytes written so far (a view, valid until the next write). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** Number of bytes written so far. */
  get length(): number {
    return this.len;
  }
}
