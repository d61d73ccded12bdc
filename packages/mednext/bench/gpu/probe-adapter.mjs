// Child of the GPU benchmark: opens the WebGPU adapter exactly as the engine processes do and prints its
// description as one JSON line (or `{ "error": ... }`). Usage: node probe-adapter.mjs [auto|vulkan|opengles]
import { openGpu } from './gpu-setup.mjs';

try {
  const opened = await openGpu(process.argv[2] ?? 'auto');
  process.stdout.write(`${JSON.stringify(opened.description)}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: String(error?.message ?? error) })}\n`);
}
// Dawn's threads would keep the process alive.
process.exit(0);
