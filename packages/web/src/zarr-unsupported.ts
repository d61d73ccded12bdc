/**
 * Stand-in for `zarrita`, which @niivue/niivue imports for OME-Zarr volumes. The web app shows NIfTI only,
 * and zarrita's compression codecs would add about 1.4 MB to the viewer's download, so the bundle replaces
 * it with this module (see vite.config.ts): every entry point fails with a clear message.
 */
function unsupported(): never {
  throw new Error('OME-Zarr volumes are not supported by the mednext web app (NIfTI only)');
}

export class FetchStore {
  constructor() {
    unsupported();
  }
}
export const get = unsupported;
export const open = unsupported;
export const root = unsupported;
export const slice = unsupported;
export const ts = unsupported;
