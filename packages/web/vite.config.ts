/**
 * Vite build of the web app into `dist/`: a static folder that `mednext serve` (or any static host with
 * cross-origin isolation headers) serves. Everything is bundled; the page fetches nothing from elsewhere.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The demo model ships next to the page as a plain file, fetched only when a case runs with it.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2048,
    reportCompressedSize: false,
    rolldownOptions: { checks: { pluginTimings: false } },
  },
  worker: { format: 'es' },
  // niivue's OME-Zarr support (zarrita and its codecs, ~1.4 MB) is not needed for NIfTI; see the stub.
  resolve: { alias: { zarrita: fileURLToPath(new URL('./src/zarr-unsupported.ts', import.meta.url)) } },
  server: {
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
});
