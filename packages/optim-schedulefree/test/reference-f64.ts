/**
 * Independent float64 model of Schedule-Free for tests, written from the textbook form of the
 * spec (x, y and z all stored, like upstream's `*_reference.py` variants) rather than the
 * production y/z rewrite the port uses, so agreement checks the algebra as well as the code.
 * Plain JS arrays; no tfjs.
 */
export interface RefConfig {
  kind: 'adamw' | 'sgd';
  lr: number;
  /** β1 for AdamW, momentum for SGD. */
  beta: number;
  /** AdamW only. */
  beta2?: number;
  eps?: number;
  weightDecay: number;
  warmupSteps: number;
  r: number;
  weightLrPower: number;
}

interface RefParam {
  x: number[];
  y: number[];
  z: number[];
  v: number[];
}

export class RefScheduleFree {
  k = 0;
  weightSum = 0;
  lrMax = -1;
  readonly params = new Map<string, RefParam>();

  constructor(private readonly cfg: RefConfig) {}

  /** One step; `current` gives each parameter's present value (y), used when its state is created. */
  step(grads: Record<string, number[] | null>, current: Record<string, number[]>): void {
    const c = this.cfg;
    const t = this.k + 1;
    const lr = c.warmupSteps > 0 && this.k < c.warmupSteps ? (c.lr * t) / c.warmupSteps : c.lr;
    this.lrMax = Math.max(this.lrMax, lr);
    const weight = t ** c.r * this.lrMax ** c.weightLrPower;
    this.weightSum += weight;
    const ckp1 = this.weightSum === 0 ? 0 : weight / this.weightSum;
    for (const [name, g] of Object.entries(grads)) {
      if (g === null) continue;
      let p = this.params.get(name);
      if (!p) {
        const y0 = current[name]!;
        p = { x: [...y0], y: [...y0], z: [...y0], v: y0.map(() => 0) };
        this.params.set(name, p);
      }
      for (let i = 0; i < g.length; i++) {
        let u: number;
        if (c.kind === 'adamw') {
          const b2 = c.beta2!;
          p.v[i] = b2 * p.v[i]! + (1 - b2) * g[i]! * g[i]!;
          u = g[i]! / (Math.sqrt(p.v[i]! / (1 - b2 ** t)) + c.eps!);
        } else {
          u = g[i]!;
        }
        // Decay at y, applied through z.
        const z = p.z[i]! - lr * (u + c.weightDecay * p.y[i]!);
        const x = (1 - ckp1) * p.x[i]! + ckp1 * z;
        p.z[i] = z;
        p.x[i] = x;
        p.y[i] = c.beta * x + (1 - c.beta) * z;
      }
    }
    this.k = t;
  }
}

/** Deterministic standard-normal-ish numbers (LCG + Box–Muller), for reproducible gradients. */
export function seededNormals(seed: number, n: number): number[] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 1) / 4294967297;
  };
  const out: number[] = [];
  while (out.length < n) {
    const r = Math.sqrt(-2 * Math.log(next()));
    const a = 2 * Math.PI * next();
    out.push(r * Math.cos(a), r * Math.sin(a));
  }
  return out.slice(0, n);
}
