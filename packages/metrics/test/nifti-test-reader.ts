/**
 * Test-only NIfTI-1 reader: just enough to load the fixture label volumes (gzip, little or big
 * endian, integer/float datatypes, sform/qform-free spacing from the affine) without depending on
 * @mednext-ts/io-nifti. Returns C-order data (last axis fastest) like the rest of the project.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface TestNifti {
  data: Float64Array;
  shape: [number, number, number];
  /** Column norms of the affine (sform if set, else pixdim), as nibabel's zooms. */
  spacing: [number, number, number];
}

export function readNiftiForTest(path: string): TestNifti {
  let buf = readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const le = view.getInt32(0, true) === 348;
  if (!le && view.getInt32(0, false) !== 348) throw new Error(`${path}: not a NIfTI-1 file`);
  const i16 = (o: number) => view.getInt16(o, le);
  const f32 = (o: number) => view.getFloat32(o, le);
  const ndim = i16(40);
  const shape: [number, number, number] = [i16(42), i16(44), ndim >= 3 ? i16(46) : 1];
  const datatype = i16(70);
  const voxOffset = f32(108);
  let slope = f32(112);
  const inter = f32(116);
  if (!slope) slope = 1;
  const sformCode = i16(254);
  let spacing: [number, number, number];
  if (sformCode > 0) {
    const row = (o: number) => [f32(o), f32(o + 4), f32(o + 8)];
    const [rx, ry, rz] = [row(280), row(296), row(312)];
    spacing = [0, 1, 2].map((c) => Math.hypot(rx[c], ry[c], rz[c])) as [number, number, number];
  } else {
    spacing = [f32(80), f32(84), f32(88)];
  }
  const readers: Record<number, [number, (o: number) => number]> = {
    2: [1, (o) => view.getUint8(o)],
    4: [2, (o) => view.getInt16(o, le)],
    8: [4, (o) => view.getInt32(o, le)],
    16: [4, (o) => view.getFloat32(o, le)],
    64: [8, (o) => view.getFloat64(o, le)],
    256: [1, (o) => view.getInt8(o)],
    512: [2, (o) => view.getUint16(o, le)],
  };
  const reader = readers[datatype];
  if (!reader) throw new Error(`${path}: unsupported datatype ${datatype}`);
  const [nx, ny, nz] = shape;
  const data = new Float64Array(nx * ny * nz);
  const [size, get] = reader;
  // File order: x fastest (Fortran); destination: C order, z fastest.
  for (let z = 0, f = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, f++) {
        data[(x * ny + y) * nz + z] = get(voxOffset + f * size) * slope + inter;
      }
    }
  }
  return { data, shape, spacing };
}
