/**
 * `mednext doctor` prints its report and nothing else: what native backends print while they are probed (Dawn's
 * "Couldn't load Vulkan", its limit adjustments) is captured and shown as notes of that backend.
 */
import { describe, expect, it } from 'vitest';
import { nativeNotes } from '../src/lib/backend-probe.js';
import { mednext } from './cli-helpers.js';

describe('mednext doctor output', () => {
  it('leaves stderr empty; native messages become notes of their backend', async () => {
    const { stdout, stderr } = await mednext(['doctor']);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^ {4}webgpu {6}(yes|no) /m);
    const json = JSON.parse((await mednext(['doctor', '--json'])).stdout) as {
      backends: { backend: string; notes: string[] }[];
    };
    const notes = json.backends.flatMap((b) => b.notes.map((n) => `${b.backend}: ${n}`));
    // Every note appears in the text report under its backend, never on stderr.
    for (const note of notes) expect(stdout).toContain(`note: ${note.slice(note.indexOf(': ') + 2)}`);
    expect(json.backends.find((b) => b.backend === 'wasm')!.notes).toEqual([]);
  }, 120_000);

  it('keeps the first line of each native warning once', () => {
    const stderr = [
      "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file",
      '    at operator() (BackendVk.cpp:368)',
      '',
      'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 90 to 16.',
      'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 90 to 16.',
      'unrelated line',
    ].join('\n');
    expect(nativeNotes(stderr)).toEqual([
      "Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file",
      'maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 90 to 16.',
    ]);
  });
});
