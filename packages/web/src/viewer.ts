/**
 * The result viewer: @niivue/niivue (WebGL) showing one modality with the predicted labels over it in the
 * three planes, with overlay opacity and per-label visibility. Loaded lazily, after a case has run, so the
 * page's first load stays small. Volumes are handed over as bytes: the viewer fetches nothing.
 */
import { Niivue, NVImage } from '@niivue/niivue';
import type { NamedBytes } from './protocol.js';

/** Label colours (BraTS viewers' usual red/green/yellow/blue/magenta), by label value 1.... */
const COLOURS: [number, number, number][] = [
  [255, 0, 0],
  [0, 200, 0],
  [255, 220, 0],
  [40, 120, 255],
  [255, 0, 255],
];

/** RGB of label `value` (1-based) as shown in the overlay. */
export function labelColour(value: number): [number, number, number] {
  return COLOURS[(value - 1) % COLOURS.length]!;
}

/** A viewer on a canvas. */
export class CaseViewer {
  private readonly nv: Niivue;
  private overlay: NVImage | undefined;
  private hidden = new Set<number>();
  private labels: { value: number; name: string }[] = [];
  private backgrounds: NamedBytes[] = [];

  private constructor(nv: Niivue) {
    this.nv = nv;
  }

  /** Attaches a viewer to `canvas`. */
  static async create(canvas: HTMLCanvasElement): Promise<CaseViewer> {
    // A thin, half-transparent crosshair: the labels under it stay visible.
    const nv = new Niivue({
      show3Dcrosshair: true,
      backColor: [0, 0, 0, 1],
      isColorbar: false,
      crosshairWidth: 1,
      crosshairColor: [0.3, 0.6, 1, 0.6],
    });
    await nv.attachToCanvas(canvas);
    nv.setSliceType(nv.sliceTypeMultiplanar);
    return new CaseViewer(nv);
  }

  /** Shows `backgrounds[0]` (the first modality) with `segmentation` over it, centred on `centre` (voxels). */
  async show(
    backgrounds: NamedBytes[],
    segmentation: NamedBytes,
    labels: { value: number; name: string }[],
    opacity: number,
    centre?: [number, number, number],
  ): Promise<void> {
    this.backgrounds = backgrounds;
    this.labels = labels;
    this.hidden.clear();
    const base = await NVImage.loadFromUrl({
      url: backgrounds[0]!.bytes.slice(0),
      name: backgrounds[0]!.name,
      colormap: 'gray',
    });
    this.overlay = await NVImage.loadFromUrl({ url: segmentation.bytes.slice(0), name: segmentation.name, opacity });
    this.applyLabelColours();
    for (const v of [...this.nv.volumes]) this.nv.removeVolume(v);
    this.nv.addVolume(base);
    this.nv.addVolume(this.overlay);
    this.nv.setSliceType(this.nv.sliceTypeMultiplanar);
    // Open on the tumour rather than the middle of the volume.
    if (centre) {
      this.nv.scene.crosshairPos = this.nv.vox2frac(centre);
      this.nv.drawScene();
    }
  }

  /** Shows modality `index` under the labels. */
  async setBackground(index: number): Promise<void> {
    const file = this.backgrounds[index];
    if (!file || !this.overlay) return;
    const base = await NVImage.loadFromUrl({ url: file.bytes.slice(0), name: file.name, colormap: 'gray' });
    // Replace the background, keeping the overlay on top (setVolume moves a volume already in the list).
    this.nv.removeVolume(this.nv.volumes[0]!);
    this.nv.addVolume(base);
    this.nv.setVolume(base, 0);
  }

  /** Overlay opacity in [0, 1]. */
  setOpacity(opacity: number): void {
    if (this.overlay) this.nv.setOpacity(this.nv.volumes.indexOf(this.overlay), opacity);
  }

  /** Shows or hides label `value`. */
  setLabelVisible(value: number, visible: boolean): void {
    if (visible) this.hidden.delete(value);
    else this.hidden.add(value);
    this.applyLabelColours();
    this.nv.updateGLVolume();
  }

  private applyLabelColours(): void {
    if (!this.overlay) return;
    const max = Math.max(0, ...this.labels.map((l) => l.value));
    const cm = { R: [0], G: [0], B: [0], A: [0], I: [0], labels: ['background'] };
    for (let v = 1; v <= max; v++) {
      const [r, g, b] = labelColour(v);
      const label = this.labels.find((l) => l.value === v);
      cm.R.push(r);
      cm.G.push(g);
      cm.B.push(b);
      cm.A.push(label && !this.hidden.has(v) ? 255 : 0);
      cm.I.push(v);
      cm.labels.push(label?.name ?? String(v));
    }
    this.overlay.setColormapLabel(cm);
  }
}
