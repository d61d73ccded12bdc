/**
 * The built-in phantom case (built in the worker, which has the network code): a fresh synthetic case (the seed `mednext demo`
 * uses, never seen in training) written as the same NIfTI files `mednext demo phantoms` writes.
 */
import { NiftiImage, encodeNifti } from '@mednext-ts/io-nifti';
import { generatePhantom, phantomAffine, type PhantomVariant } from '@mednext-ts/mednext';
// The demo model's description (its phantom grid).
import demoInfo from '../../mednext/models/demo/demo.json';
import type { NamedBytes } from './protocol.js';

/** Seed of the built-in phantom (the default of `mednext demo`; training used 1000-1039). */
export const PHANTOM_SEED = 424242;

/** The built-in phantom as `<ID>-<modality>.nii.gz` files plus `<ID>-seg.nii.gz`. */
export async function phantomCase(seed = PHANTOM_SEED, variant: PhantomVariant = 'glioma'): Promise<NamedBytes[]> {
  const phantom = generatePhantom({
    seed,
    variant,
    shape: demoInfo.phantom.shape as [number, number, number],
    spacing: demoInfo.phantom.spacing as [number, number, number],
  });
  const shape = phantom.label.shape;
  const affine = phantomAffine(phantom);
  const encode = async (image: NiftiImage) => (await encodeNifti(image, { gzip: true })).buffer as ArrayBuffer;
  const files: NamedBytes[] = [];
  for (const [i, m] of phantom.modalities.entries()) {
    const image = NiftiImage.fromCOrder(phantom.images[i]!.data, shape, { affine, descrip: `mednext-ts phantom ${m}` });
    files.push({ name: `${phantom.id}-${m}.nii.gz`, bytes: await encode(image) });
  }
  const label = NiftiImage.fromCOrder(phantom.label.data, shape, { affine, descrip: 'mednext-ts phantom labels' });
  files.push({ name: `${phantom.id}-seg.nii.gz`, bytes: await encode(label) });
  return files;
}
