/**
 * Vite build of the web app into `dist/`: a static folder that `mednext serve` (or any static host with
 * cross-origin isolation headers) serves. Everything is bundled; the page fetches nothing from elsewhere.
 */
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
  server: {
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
});
