/**
 * A seeded synthetic BraTS-like case: four co-registered MRI contrasts of a skull-stripped brain
 * with a tumour and its label map.
 *
 * Not a simulator: tissue intensities are plausible relative contrasts (CSF dark on T1 and FLAIR,
 * bright on T2; edema bright on T2 and FLAIR; enhancing rim bright on T1c only; necrosis dark on
 * T1c), enough for a network to have to combine modalities as it does on real data. Variants
 * mimic the two BraTS-2024 tasks of the paper: `ssa` adds the artefacts of low-field,
 * low-resolution scans (noise, blur, thick slices), `ped` uses the paediatric label convention
 * and adds a cystic component.
 */
import { Random, gaussianBlur, type Shape3, type Volume } from '@mednext-ts/tensor3d';

/** The phantom families. */
export type PhantomVariant = 'glioma' | 'ssa' | 'ped';

/** Options of {@link generatePhantom}. */
export interface PhantomOptions {
  /** Seed: the same seed and options always give the same case. */
  seed: number;
  /** Grid size; default `[96, 96, 64]`. */
  shape?: Shape3;
  /** Voxel size in mm; default 2 mm isotropic (the brain is ~140 x 170 x 120 mm whatever the grid). */
  spacing?: [number, number, number];
  /** Default `glioma` (adult labels, good-quality scan). */
  variant?: PhantomVariant;
}

/** A generated case. */
export interface Phantom {
  /** Case identifier, `Phantom-<variant>-<seed>`. */
  id: string;
  /** Modality names in channel order (BraTS suffixes). */
  modalities: ['t1n', 't1c', 't2w', 't2f'];
  /** One image per modality, float32, 0 outside the brain. */
  images: Volume<Float32Array>[];
  /**
   * Labels: adult convention (glioma, ssa) 1 NETC, 2 SNFH (edema), 3 ET; paediatric convention
   * (ped) 1 ET, 2 NETC, 3 CC (cyst), 4 ED.
   */
  label: Volume<Uint8Array>;
  convention: 'adult' | 'ped';
  /** Tumour centre in voxels and what was applied, for reports. */
  info: { tumourCentre: [number, number, number]; variant: PhantomVariant; degradations: string[] };
}

/** Tissue classes used while building the case. */
const enum Tissue {
  Background,
  WhiteMatter,
  GreyMatter,
  Csf,
  Edema,
  Necrosis,
  Enhancing,
  Cyst,
  SolidCore,
}

/** Mean intensity per tissue for t1n, t1c, t2w, t2f (arbitrary units). */
const CONTRASTS: Record<Tissue, [number, number, number, number]> = {
  [Tissue.Background]: [0, 0, 0, 0],
  [Tissue.WhiteMatter]: [0.85, 0.8, 0.4, 0.5],
  [Tissue.GreyMatter]: [0.6, 0.58, 0.6, 0.62],
  [Tissue.Csf]: [0.2, 0.2, 1.0, 0.12],
  [Tissue.Edema]: [0.55, 0.52, 0.85, 0.95],
  [Tissue.Necrosis]: [0.35, 0.3, 0.95, 0.55],
  [Tissue.Enhancing]: [0.6, 1.25, 0.7, 0.8],
  [Tissue.Cyst]: [0.18, 0.22, 1.1, 0.3],
  [Tissue.SolidCore]: [0.5, 0.5, 0.75, 0.78],
};

/** A smooth random function on the unit sphere (sum of a few random plane waves). */
function randomDirectionField(
  rng: Random,
  terms: number,
  amplitude: number,
): (u: number, v: number, w: number) => number {
  const waves = Array.from({ length: terms }, () => ({
    k: [rng.normal() * 2, rng.normal() * 2, rng.normal() * 2],
    phase: rng.uniform(0, 2 * Math.PI),
  }));
  return (u, v, w) => {
    let s = 0;
    for (const { k, phase } of waves) s += Math.sin(k[0]! * u + k[1]! * v + k[2]! * w + phase);
    return 1 + (amplitude * s) / Math.sqrt(terms);
  };
}

/** A smooth random field over space in mm (multiplicative bias, ~1 +- amplitude). */
function randomSpatialField(rng: Random, amplitude: number): (x: number, y: number, z: number) => number {
  const waves = Array.from({ length: 3 }, () => ({
    k: [rng.normal() / 80, rng.normal() / 80, rng.normal() / 80],
    phase: rng.uniform(0, 2 * Math.PI),
  }));
  return (x, y, z) => {
    let s = 0;
    for (const { k, phase } of waves) s += Math.sin(k[0]! * x + k[1]! * y + k[2]! * z + phase);
    return 1 + (amplitude * s) / 3;
  };
}

/** Generates one case. Deterministic in `options`. */
export function generatePhantom(options: PhantomOptions): Phantom {
  const shape: Shape3 = options.shape ?? [96, 96, 64];
  const spacing = options.spacing ?? [2, 2, 2];
  const variant = options.variant ?? 'glioma';
  if (!Number.isInteger(options.seed))
    throw new RangeError(`generatePhantom: seed must be an integer, got ${options.seed}`);
  if (shape.some((n) => !Number.isInteger(n) || n < 8))
    throw new RangeError(`generatePhantom: shape [${shape.join(', ')}] must be integers >= 8`);
  const rng = new Random(options.seed * 7919 + (variant === 'glioma' ? 0 : variant === 'ssa' ? 1 : 2));
  const [nx, ny, nz] = shape;
  const centre = shape.map((n, a) => ((n - 1) / 2) * spacing[a]!) as [number, number, number];

  // Brain: an ellipsoid (mm) with a gently irregular surface; cortex as a shell; two ventricles.
  const brainRadii = [70, 85, 60].map((r) => r * rng.uniform(0.92, 1.05)) as [number, number, number];
  const brainSurface = randomDirectionField(rng, 4, 0.04);
  const cortexDepth = rng.uniform(0.1, 0.14);
  const ventricleOffset = rng.uniform(6, 10);
  const ventricleRadii = [rng.uniform(4, 7), rng.uniform(18, 26), rng.uniform(7, 11)];

  // Tumour: centre in one hemisphere, star-shaped compartments with irregular boundaries.
  const side = rng.chance(0.5) ? -1 : 1;
  const tc: [number, number, number] = [
    centre[0] + side * rng.uniform(18, 32),
    centre[1] + rng.uniform(-30, 30),
    centre[2] + rng.uniform(-18, 18),
  ];
  const ped = variant === 'ped';
  const coreRadius = rng.uniform(7, 14);
  const rimThickness = ped ? rng.uniform(2, 4) : rng.uniform(2.5, 5.5);
  const edemaExtent = rng.uniform(7, 18);
  const coreShape = randomDirectionField(rng, 5, 0.22);
  const rimShape = randomDirectionField(rng, 5, 0.18);
  const edemaShape = randomDirectionField(rng, 6, 0.35);
  // PED: patchy enhancement and a cyst budding off the tumour.
  const etPatches = randomDirectionField(rng, 6, 1.2);
  const cystDir = normalise([rng.normal(), rng.normal(), rng.normal()]);
  const cystRadius = rng.uniform(5, 10);
  const cystCentre = tc.map((c, a) => c + cystDir[a]! * (coreRadius + rimThickness)) as [number, number, number];

  const tissue = new Uint8Array(nx * ny * nz);
  for (let x = 0; x < nx; x++) {
    const px = x * spacing[0];
    for (let y = 0; y < ny; y++) {
      const py = y * spacing[1];
      for (let z = 0; z < nz; z++) {
        const pz = z * spacing[2];
        const i = (x * ny + y) * nz + z;
        const bx = (px - centre[0]) / brainRadii[0];
        const by = (py - centre[1]) / brainRadii[1];
        const bz = (pz - centre[2]) / brainRadii[2];
        const br = Math.hypot(bx, by, bz);
        const surface = br > 0 ? brainSurface(bx / br, by / br, bz / br) : 1;
        if (br >= surface) continue;
        let t: Tissue = br > surface * (1 - cortexDepth) ? Tissue.GreyMatter : Tissue.WhiteMatter;
        for (const s of [-1, 1]) {
          const vx = (px - centre[0] - s * ventricleOffset) / ventricleRadii[0]!;
          const vy = (py - centre[1] - 4) / ventricleRadii[1]!;
          const vz = (pz - centre[2] - 6) / ventricleRadii[2]!;
          if (vx * vx + vy * vy + vz * vz < 1) t = Tissue.Csf;
        }
        const dx = px - tc[0];
        const dy = py - tc[1];
        const dz = pz - tc[2];
        const d = Math.hypot(dx, dy, dz);
        const [u, v, w] = d > 0 ? [dx / d, dy / d, dz / d] : [1, 0, 0];
        const core = coreRadius * coreShape(u, v, w);
        const rim = core + rimThickness * rimShape(u, v, w);
        const edema = rim + edemaExtent * edemaShape(u, v, w);
        if (d < core) t = ped ? Tissue.SolidCore : Tissue.Necrosis;
        else if (d < rim) t = !ped || etPatches(u, v, w) > 1.3 ? Tissue.Enhancing : Tissue.SolidCore;
        else if (d < edema && t !== Tissue.Csf) t = Tissue.Edema;
        if (ped) {
          const c = Math.hypot(px - cystCentre[0], py - cystCentre[1], pz - cystCentre[2]);
          if (c < cystRadius) t = Tissue.Cyst;
        }
        tissue[i] = t;
      }
    }
  }

  const label = new Uint8Array(tissue.length);
  const adultLabel: Partial<Record<Tissue, number>> = {
    [Tissue.Necrosis]: 1,
    [Tissue.SolidCore]: 1,
    [Tissue.Edema]: 2,
    [Tissue.Enhancing]: 3,
  };
  const pedLabel: Partial<Record<Tissue, number>> = {
    [Tissue.Enhancing]: 1,
    [Tissue.SolidCore]: 2,
    [Tissue.Necrosis]: 2,
    [Tissue.Cyst]: 3,
    [Tissue.Edema]: 4,
  };
  const map = ped ? pedLabel : adultLabel;
  for (let i = 0; i < tissue.length; i++) label[i] = map[tissue[i] as Tissue] ?? 0;

  const degradations: string[] = [];
  const lowQuality = variant === 'ssa';
  const noiseStd = lowQuality ? rng.uniform(0.05, 0.09) : rng.uniform(0.015, 0.03);
  const blurSigma = lowQuality ? rng.uniform(0.8, 1.4) : 0.5;
  const sliceFactor = lowQuality ? rng.int(2, 4) : 1;
  const sliceAxis = rng.int(0, 3) as 0 | 1 | 2;
  degradations.push(`noise ${noiseStd.toFixed(3)}`, `blur ${blurSigma.toFixed(2)} voxels`);
  if (sliceFactor > 1) degradations.push(`slices ${sliceFactor}x thicker along axis ${sliceAxis}`);

  const images: Volume<Float32Array>[] = [];
  for (let m = 0; m < 4; m++) {
    // Per-case contrast jitter (scanner and patient variation) and a smooth bias field.
    const jitter = Object.fromEntries(
      Object.entries(CONTRASTS).map(([k, v]) => [k, v[m]! * rng.uniform(0.92, 1.08)]),
    ) as unknown as Record<Tissue, number>;
    const bias = randomSpatialField(rng, lowQuality ? 0.2 : 0.08);
    const scale = rng.uniform(300, 1200);
    const data = new Float32Array(tissue.length);
    for (let x = 0; x < nx; x++)
      for (let y = 0; y < ny; y++)
        for (let z = 0; z < nz; z++) {
          const i = (x * ny + y) * nz + z;
          if (tissue[i] !== Tissue.Background)
            data[i] = jitter[tissue[i] as Tissue] * bias(x * spacing[0], y * spacing[1], z * spacing[2]);
        }
    const vol = { data, shape: [1, nx, ny, nz] as [number, number, number, number] };
    gaussianBlur(vol, 0, [blurSigma, blurSigma, blurSigma]);
    if (sliceFactor > 1) thickSlices(data, shape, sliceAxis, sliceFactor);
    for (let i = 0; i < data.length; i++) {
      if (tissue[i] === Tissue.Background) {
        data[i] = 0; // blur and thick slices spread intensity outside the brain; skull-stripped scans have none
        continue;
      }
      // Magnitude images: noise is rectified, and the skull-stripped background stays exactly 0.
      data[i] = Math.abs(data[i]! + noiseStd * rng.normal()) * scale;
    }
    images.push({ data, shape: [...shape], spacing: [...spacing] });
  }
  const voxelCentre = tc.map((c, a) => Math.round(c / spacing[a]!)) as [number, number, number];
  return {
    id: `Phantom-${variant}-${options.seed}`,
    modalities: ['t1n', 't1c', 't2w', 't2f'],
    images,
    label: { data: label, shape: [...shape], spacing: [...spacing] },
    convention: ped ? 'ped' : 'adult',
    info: { tumourCentre: voxelCentre, variant, degradations },
  };
}

function normalise(v: number[]): number[] {
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
}

/** Simulates thick slices along `axis`: each run of `factor` slices is replaced by its mean. */
function thickSlices(data: Float32Array, shape: Shape3, axis: 0 | 1 | 2, factor: number): void {
  const [, ny, nz] = shape;
  const strides = [ny * nz, nz, 1];
  const n = shape[axis];
  const st = strides[axis]!;
  const others = [0, 1, 2].filter((a) => a !== axis);
  const [na, nb] = [shape[others[0]!], shape[others[1]!]];
  const [sa, sb] = [strides[others[0]!]!, strides[others[1]!]!];
  for (let a = 0; a < na; a++)
    for (let b = 0; b < nb; b++) {
      const base = a * sa + b * sb;
      for (let s = 0; s < n; s += factor) {
        const end = Math.min(n, s + factor);
        let sum = 0;
        for (let k = s; k < end; k++) sum += data[base + k * st]!;
        const mean = sum / (end - s);
        for (let k = s; k < end; k++) data[base + k * st] = mean;
      }
    }
}

/**
 * RAS affine of a phantom grid: the given voxel size, origin at the grid centre. The CLI writes phantom
 * NIfTI files with it and the web app builds its built-in case with it, so both give the same files.
 */
export function phantomAffine(phantom: Phantom): number[][] {
  const [nx, ny, nz] = phantom.label.shape;
  const [sx, sy, sz] = phantom.label.spacing ?? [1, 1, 1];
  return [
    [sx, 0, 0, (-(nx - 1) / 2) * sx],
    [0, sy, 0, (-(ny - 1) / 2) * sy],
    [0, 0, sz, (-(nz - 1) / 2) * sz],
    [0, 0, 0, 1],
  ];
}
