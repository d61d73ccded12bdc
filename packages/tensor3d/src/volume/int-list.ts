/** A growable list of int32 values (voxel indices, run bounds) that doubles its buffer when full. */
export class Int32List {
  /** Backing buffer; only the first `length` entries are in use. */
  data: Int32Array;
  length = 0;

  constructor(capacity = 1024) {
    this.data = new Int32Array(Math.max(16, capacity));
  }

  /** A list holding (and owning) the given values. */
  static wrap(data: Int32Array): Int32List {
    const list = new Int32List(0);
    list.data = data.length > 0 ? data : list.data;
    list.length = data.length;
    return list;
  }

  push(v: number): void {
    if (this.length === this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = v;
  }
}
