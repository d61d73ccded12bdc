/**
 * Voxel-to-world affines from NIfTI headers (qform, sform, fallbacks), the inverse (affine to
 * quaternion), and orientation codes.
 */
import { NiftiError } from './errors.js';
import type { NiftiHeader } from './header.js';

/** A 4x4 matrix, row-major: `m[row][col]`. */
export type Mat4 = number[][];

/** What {@link bestAffine} returns when both qform_code and sform_code are 0. */
export type AffineFallback = 'method1' | 'analyze';

/** 4x4 identity. */
export function identity4(): Mat4 {
  return [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
}

/** Matrix product `a @ b` of two 4x4 matrices. */
export function matmul4(a: Mat4, b: Mat4): Mat4 {
  return a.map((row) =>
    [0, 1, 2, 3].map((j) => row[0]! * b[0]![j]! + row[1]! * b[1]![j]! + row[2]! * b[2]![j]! + row[3]! * b[3]![j]!),
  );
}

/**
 * The qform affine from quaternion fields, following the NIfTI-1 standard: a = sqrt(1 - b^2 - c^2 - d^2)
 * (clamped to 0 with b, c, d renormalised when rounding makes the sum exceed 1), the rotation scaled by
 * pixdim[1..3], the third column negated when qfac = pixdim[0] is negative.
 */
export function qformAffineIgnoringCode(h: NiftiHeader): Mat4 {
  let b = h.quaternB;
  let c = h.quaternC;
  let d = h.quaternD;
  const w2 = 1 - (b * b + c * c + d * d);
  let a: number;
  // float32 quaternions of 180-degree rotations can give w2 slightly below 0; treat that as a = 0.
  if (w2 < 1e-7) {
    a = 0;
    const n = Math.sqrt(b * b + c * c + d * d);
    if (n > 0) {
      b /= n;
      c /= n;
      d /= n;
    }
  } else {
    a = Math.sqrt(w2);
  }
  const qfac = h.pixdim[0]! < 0 ? -1 : 1;
  const dx = h.pixdim[1]!;
  const dy = h.pixdim[2]!;
  const dz = h.pixdim[3]! * qfac;
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - b * b - c * c],
  ];
  const off = [h.qoffsetX, h.qoffsetY, h.qoffsetZ];
  return [...r.map((row, i) => [row[0]! * dx, row[1]! * dy, row[2]! * dz, off[i]!]), [0, 0, 0, 1]];
}

/** The qform affine, or `null` when qform_code is 0. */
export function qformAffine(h: NiftiHeader): Mat4 | null {
  return h.qformCode > 0 ? qformAffineIgnoringCode(h) : null;
}

/** The sform affine (rows as stored), or `null` when sform_code is 0. */
export function sformAffine(h: NiftiHeader): Mat4 | null {
  return h.sformCode > 0 ? [[...h.srowX], [...h.srowY], [...h.srowZ], [0, 0, 0, 1]] : null;
}

/** NIfTI "method 1" affine: diag(pixdim[1..3]) with zero origin. */
export function method1Affine(h: NiftiHeader): Mat4 {
  const a = identity4();
  for (let i = 0; i < 3; i++) a[i]![i] = h.pixdim[i + 1]!;
  return a;
}

/** nibabel's fallback for unoriented images: x flipped, origin at the volume centre (Analyze convention). */
export function analyzeAffine(h: NiftiHeader): Mat4 {
  const a = identity4();
  const zooms = [-h.pixdim[1]!, h.pixdim[2]!, h.pixdim[3]!];
  for (let i = 0; i < 3; i++) {
    const n = i < h.dim[0]! ? h.dim[i + 1]! : 1;
    a[i]![i] = zooms[i]!;
    a[i]![3] = (-(n - 1) / 2) * zooms[i]!;
  }
  return a;
}

/**
 * The affine a reader should use: the sform when sform_code > 0, else the qform when qform_code > 0,
 * else the fallback. The default fallback is NIfTI method 1 (`diag(pixdim)`, the standard's choice),
 * which differs from nibabel's Analyze-style `get_best_affine()`; pass `'analyze'` for nibabel's.
 */
export function bestAffine(h: NiftiHeader, fallback: AffineFallback = 'method1'): Mat4 {
  return sformAffine(h) ?? qformAffine(h) ?? (fallback === 'analyze' ? analyzeAffine(h) : method1Affine(h));
}

function isFiniteAffine(m: Mat4): boolean {
  return m.every((row) => row.every(Number.isFinite));
}

/** Largest float32: NIfTI-1 stores srow and qoffset as float32, so world coordinates must stay below it. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** The first corner voxel of a `dims`-sized grid that `m` maps outside the float32 range, if any. */
function cornerOutOfRange(m: Mat4, dims: readonly number[]): number[] | undefined {
  for (let c = 0; c < 8; c++) {
    const ijk = [0, 1, 2].map((a) => ((c >> a) & 1 ? Math.max(0, (dims[a] ?? 1) - 1) : 0));
    for (let r = 0; r < 3; r++) {
      const w = m[r]![0]! * ijk[0]! + m[r]![1]! * ijk[1]! + m[r]![2]! * ijk[2]! + m[r]![3]!;
      if (!(Math.abs(w) <= FLOAT32_MAX)) return ijk;
    }
  }
  return undefined;
}

/**
 * Rejects a header whose geometry holds NaN or infinite values, or maps the volume's corners outside the
 * float32 range: every affine a caller may use (the sform when coded, the qform when coded, the fallback when
 * neither is) and the voxel sizes pixdim[1..3]. Such a file has no usable position in space, so orientation,
 * reorientation (which moves the origin to another corner), geometry comparisons and writing it back would fail
 * or be meaningless.
 *
 * @throws NiftiError `BAD_AFFINE` naming the field and `file`.
 */
export function assertFiniteGeometry(h: NiftiHeader, fallback: AffineFallback = 'method1', file?: string): void {
  const fail = (what: string, values: readonly number[], why = 'holds non-finite values') =>
    new NiftiError(
      'BAD_AFFINE',
      `${what} ${why} [${values.join(', ')}]; the image has no valid position in space`,
      file,
    );
  const spacing = h.pixdim.slice(1, 4);
  if (!spacing.every(Number.isFinite)) throw fail('pixdim[1..3] (voxel size)', spacing);
  const dims = h.dim.slice(1, 4).map((d, a) => (a < h.dim[0]! ? d : 1));
  const check = (m: Mat4, what: string, values: readonly number[]) => {
    if (!isFiniteAffine(m)) throw fail(what, values);
    const corner = cornerOutOfRange(m, dims);
    if (corner) throw fail(what, values, `maps voxel (${corner.join(', ')}) outside the float32 range with`);
  };
  const sform = sformAffine(h);
  if (sform) check(sform, `sform (sform_code ${h.sformCode}) srow_x/y/z`, [...h.srowX, ...h.srowY, ...h.srowZ]);
  const qform = qformAffine(h);
  if (qform) {
    check(qform, `qform (qform_code ${h.qformCode}) quatern_b/c/d, qoffset_x/y/z, qfac`, [
      h.quaternB,
      h.quaternC,
      h.quaternD,
      h.qoffsetX,
      h.qoffsetY,
      h.qoffsetZ,
      h.pixdim[0]!,
    ]);
  }
  if (!sform && !qform) check(bestAffine(h, fallback), 'fallback affine from pixdim', spacing);
}

/** Quaternion representation of an affine, as the qform fields store it. */
export interface QuaternionForm {
  quaternB: number;
  quaternC: number;
  quaternD: number;
  qoffsetX: number;
  qoffsetY: number;
  qoffsetZ: number;
  /** pixdim[0]: -1 when the affine flips handedness. */
  qfac: number;
  /** Column norms, pixdim[1..3]. */
  pixdim: [number, number, number];
}

/** Copies the quaternion and offset of `q` into the qform fields of `h` (qfac and pixdim are left to the caller). */
export function setQuaternionFields(h: NiftiHeader, q: QuaternionForm): void {
  h.quaternB = q.quaternB;
  h.quaternC = q.quaternC;
  h.quaternD = q.quaternD;
  h.qoffsetX = q.qoffsetX;
  h.qoffsetY = q.qoffsetY;
  h.qoffsetZ = q.qoffsetZ;
}

/**
 * Decomposes an affine into qform fields. The 3x3 part is split into column norms (voxel sizes) and a
 * rotation; a shear (possible in an sform) cannot be represented by a qform and is dropped, so the qform of a
 * sheared affine is only its nearest rotation. Zero-length columns count as 1 mm.
 */
export function affineToQuaternion(m: Mat4): QuaternionForm {
  const cols = [0, 1, 2].map((j) => [m[0]![j]!, m[1]![j]!, m[2]![j]!]);
  const norms = cols.map((c) => Math.hypot(c[0]!, c[1]!, c[2]!) || 1) as [number, number, number];
  const r = cols.map((c, j) => c.map((x) => x / norms[j]!));
  // r[j] is column j; determinant of the column-normalised matrix decides qfac.
  const det =
    r[0]![0]! * (r[1]![1]! * r[2]![2]! - r[2]![1]! * r[1]![2]!) -
    r[1]![0]! * (r[0]![1]! * r[2]![2]! - r[2]![1]! * r[0]![2]!) +
    r[2]![0]! * (r[0]![1]! * r[1]![2]! - r[1]![1]! * r[0]![2]!);
  const qfac = det < 0 ? -1 : 1;
  if (qfac < 0) r[2] = r[2]!.map((x) => -x);
  // R[i][k] = row i, column k = r[k][i]
  const R = (i: number, k: number) => r[k]![i]!;
  let a: number, b: number, c: number, d: number;
  const trace = 1 + R(0, 0) + R(1, 1) + R(2, 2);
  if (trace > 0.5) {
    a = 0.5 * Math.sqrt(trace);
    b = (0.25 * (R(2, 1) - R(1, 2))) / a;
    c = (0.25 * (R(0, 2) - R(2, 0))) / a;
    d = (0.25 * (R(1, 0) - R(0, 1))) / a;
  } else {
    const xd = 1 + R(0, 0) - R(1, 1) - R(2, 2);
    const yd = 1 + R(1, 1) - R(0, 0) - R(2, 2);
    const zd = 1 + R(2, 2) - R(0, 0) - R(1, 1);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (R(0, 1) + R(1, 0))) / b;
      d = (0.25 * (R(0, 2) + R(2, 0))) / b;
      a = (0.25 * (R(2, 1) - R(1, 2))) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (R(0, 1) + R(1, 0))) / c;
      d = (0.25 * (R(1, 2) + R(2, 1))) / c;
      a = (0.25 * (R(0, 2) - R(2, 0))) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (R(0, 2) + R(2, 0))) / d;
      c = (0.25 * (R(1, 2) + R(2, 1))) / d;
      a = (0.25 * (R(1, 0) - R(0, 1))) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return {
    quaternB: b + 0,
    quaternC: c + 0,
    quaternD: d + 0,
    qoffsetX: m[0]![3]!,
    qoffsetY: m[1]![3]!,
    qoffsetZ: m[2]![3]!,
    qfac,
    pixdim: norms,
  };
}

const LETTERS = [
  ['L', 'R'],
  ['P', 'A'],
  ['I', 'S'],
] as const;

/**
 * Anatomical orientation of the three voxel axes, e.g. `'RAS'` or `'LPS'`: for each voxel axis, the world
 * direction it increases towards. Axes are matched greedily by the largest direction cosine, so every world
 * axis is used once even for oblique affines.
 */
export function orientationCodes(m: Mat4): string {
  if (!isFiniteAffine(m)) {
    throw new NiftiError(
      'BAD_AFFINE',
      `affine ${m
        .slice(0, 3)
        .map((row) => `[${row.join(', ')}]`)
        .join(', ')} holds non-finite values; it has no orientation`,
    );
  }
  const cos = [0, 1, 2].map((j) => {
    const col = [m[0]![j]!, m[1]![j]!, m[2]![j]!];
    const n = Math.hypot(col[0]!, col[1]!, col[2]!) || 1;
    return col.map((x) => x / n);
  });
  const codes = ['?', '?', '?'];
  const usedVoxel = new Set<number>();
  const usedWorld = new Set<number>();
  for (let step = 0; step < 3; step++) {
    let best = -1;
    let bj = 0;
    let bw = 0;
    for (let j = 0; j < 3; j++) {
      if (usedVoxel.has(j)) continue;
      for (let w = 0; w < 3; w++) {
        if (usedWorld.has(w)) continue;
        const v = Math.abs(cos[j]![w]!);
        if (v > best) {
          best = v;
          bj = j;
          bw = w;
        }
      }
    }
    usedVoxel.add(bj);
    usedWorld.add(bw);
    codes[bj] = LETTERS[bw]![cos[bj]![bw]! >= 0 ? 1 : 0];
  }
  return codes.join('');
}
