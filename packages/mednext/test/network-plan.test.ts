import * as tf from '@tensorflow/tfjs-core';
import { registerFastKernels, unregisterFastKernels } from '@mednext-ts/tensor3d';
import { describe, expect, it } from 'vitest';
import { buildArchitecture, type Architecture } from '../src/model/architecture.js';
import { resolveConfig, type MedNeXtConfig } from '../src/model/config.js';
import { MedNeXt } from '../src/model/mednext.js';
import { planDeviceEngine, planForward, type ForwardEnvironment, type ForwardRequest } from '../src/network/plan.js';
import { useBackend } from './helpers.js';

const base: MedNeXtConfig = {
  in_channels: 4,
  n_channels: 8,
  n_classes: 3,
  exp_r: 2,
  kernel_size: 3,
  deep_supervision: false,
  do_res: true,
  do_res_up_down: true,
  block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
};
const arch = (over: Partial<MedNeXtConfig> = {}): Architecture =>
  buildArchitecture(resolveConfig({ ...base, ...over }));

const WASM_FAST: ForwardEnvironment = { backend: 'wasm', hostKernels: true };
const CPU_SLOW: ForwardEnvironment = { backend: 'cpu', hostKernels: false };
const WEBGPU: ForwardEnvironment = { backend: 'webgpu', hostKernels: false };

const plan = (over: Partial<ForwardRequest> & { architecture?: Architecture }) =>
  planForward({ architecture: arch(), training: false, environment: WASM_FAST, ...over });

/** The set of paths the plan gave the blocks. */
const pathsOf = (p: ReturnType<typeof planForward>): string[] => [...new Set(p.blocks.values())].sort();

describe('planForward: inference', () => {
  it('takes the kernel heap on a host backend with the fast kernels on when every block is fused-capable', () => {
    const p = plan({});
    expect(p.engine).toBe('kernel-heap');
    expect(p.blocks.size).toBe(0);
    expect(p.lean).toBe(false);
    expect(p.chunkElements).toBe(2 ** 23);
    expect(p.reason).toBe('kernel-heap: inference on host backend wasm, fast kernels on, no GRN blocks');
  });

  it('runs GRN networks on tfjs: the fused kernel for the blocks it takes, composite for the GRN blocks', () => {
    const a = arch({ grn: true });
    const p = plan({ architecture: a });
    expect(p.engine).toBe('tfjs');
    // down_0 is built without GRN (official quirk): the only block the fused kernel takes.
    expect(p.blocks.get('down_0')).toBe('fused-kernel');
    expect(p.blocks.get('enc_block_0.0')).toBe('composite');
    expect(pathsOf(p)).toEqual(['composite', 'fused-kernel']);
    expect(p.reason).toMatch(/^tfjs: inference on host backend wasm, fast kernels on, fused kernel on 1 of 17 blocks/);
    expect(p.reason).toContain('composite on GRN ×16');
  });

  it('names channel counts the kernel does not take', () => {
    const p = plan({ architecture: arch({ n_channels: 6 }) });
    expect(p.engine).toBe('tfjs');
    // 6 channels at level 0 (enc_block_0, down_0's input, up_0's output, dec_block_0); 12, 24, ... are fine.
    expect(p.blocks.get('enc_block_0.0')).toBe('composite');
    expect(p.blocks.get('enc_block_1.0')).toBe('fused-kernel');
    expect(p.reason).toContain('fused kernel on 13 of 17 blocks, composite on channels not a multiple of 4 ×4');
  });

  it('composite everywhere with fused: false, chunked as asked', () => {
    const p = plan({ fused: false, chunkElements: 1000 });
    expect(p.engine).toBe('tfjs');
    expect(pathsOf(p)).toEqual(['composite']);
    expect(p.chunkElements).toBe(1000);
    expect(p.reason).toBe(
      'tfjs: inference, fused kernels off (fused: false), composite blocks chunked by 1000 elements',
    );
  });

  it('composite without the fast kernels, saying whether the backend is a host backend', () => {
    const cpu = plan({ environment: CPU_SLOW });
    expect(cpu.engine).toBe('tfjs');
    expect(pathsOf(cpu)).toEqual(['composite']);
    expect(cpu.reason).toContain('host backend cpu with the fast kernels off');
    const gpu = plan({ environment: WEBGPU });
    expect(pathsOf(gpu)).toEqual(['composite']);
    expect(gpu.reason).toContain('backend webgpu is not a host backend');
  });
});

describe('planForward: training', () => {
  it('lean gradients with the kernel tail on the blocks the kernel takes (host backend, fast kernels on)', () => {
    const p = plan({ training: true, architecture: arch({ grn: true }) });
    expect(p.engine).toBe('tfjs');
    expect(p.lean).toBe(true);
    expect(p.chunkElements).toBe(0);
    expect(p.checkpointBlocks).toBe(false);
    expect(p.blocks.get('down_0')).toBe('lean+fused-tail');
    expect(p.blocks.get('enc_block_0.0')).toBe('lean');
    expect(p.reason).toBe(
      'tfjs: training, lean gradients, kernel tail on 1 of 17 blocks (host backend wasm, fast kernels on; not on GRN ×16)',
    );
  });

  it('lean composite tails without the fast kernels, recomputed per block when asked', () => {
    const p = plan({ training: true, environment: CPU_SLOW, checkpointBlocks: true });
    expect(pathsOf(p)).toEqual(['lean']);
    expect(p.checkpointBlocks).toBe(true);
    expect(p.reason).toBe(
      'tfjs: training, lean gradients, each block recomputed in the backward pass, composite tails ' +
        '(host backend cpu with the fast kernels off)',
    );
  });

  it('plain autodiff with leanGradients: false, which ignores checkpointBlocks and the kernels', () => {
    const p = plan({ training: true, leanGradients: false, checkpointBlocks: true });
    expect(p.engine).toBe('tfjs');
    expect(pathsOf(p)).toEqual(['composite']);
    expect(p.lean).toBe(false);
    expect(p.checkpointBlocks).toBe(false);
    expect(p.chunkElements).toBe(0);
    expect(p.reason).toBe('tfjs: training, plain tfjs autodiff (leanGradients: false)');
  });

  it('never takes the kernel heap under a tape', () => {
    expect(plan({ training: true }).engine).toBe('tfjs');
    expect(pathsOf(plan({ training: true }))).toEqual(['lean+fused-tail']);
  });
});

describe('MedNeXt.plan reads the live environment', () => {
  it('composite tfjs on cpu alone, the kernel heap once the fast kernels serve cpu, lean tfjs under training', async () => {
    await useBackend('cpu');
    const model = MedNeXt.create(base, { seed: 1 });
    try {
      expect(model.plan().reason).toMatch(/^tfjs: inference, host backend cpu with the fast kernels off/);
      registerFastKernels({ backends: ['cpu'] });
      try {
        expect(model.plan().engine).toBe('kernel-heap');
        expect(model.plan({ fused: false }).engine).toBe('tfjs');
        expect(model.plan({ training: true }).reason).toMatch(/^tfjs: training, lean gradients, kernel tail on 17/);
        // A recording tape counts as training even without the flag.
        let underTape = '';
        tf.grad((x: tf.Tensor) => ((underTape = model.plan().reason), tf.sum(x)))(tf.ones([2]));
        expect(underTape).toMatch(/^tfjs: training/);
      } finally {
        unregisterFastKernels();
      }
    } finally {
      model.dispose();
    }
  });
});

describe('planDeviceEngine: WebGPU engine or tfjs for inference', () => {
  const h100 = { found: true as const, description: 'NVIDIA H100 80GB HBM3', software: false };
  const llvmpipe = { found: true as const, description: 'llvmpipe (LLVM 15.0.6, 256 bits)', software: true };
  const none = { found: false as const, reason: 'no WebGPU adapter (no Vulkan driver)' };

  it('auto takes a hardware adapter and keeps tfjs on a software one or none', () => {
    expect(planDeviceEngine('auto', h100)).toEqual({
      engine: 'webgpu',
      reason: 'a GPU adapter was found (NVIDIA H100 80GB HBM3)',
    });
    expect(planDeviceEngine('auto', llvmpipe).engine).toBe('tfjs');
    expect(planDeviceEngine('auto', llvmpipe).reason).toMatch(/software one \(llvmpipe.*CPU kernels are faster/);
    expect(planDeviceEngine('auto', none)).toEqual({ engine: 'tfjs', reason: none.reason });
  });

  it('webgpu takes any adapter, says when it is a software one, and refuses none', () => {
    expect(planDeviceEngine('webgpu', h100).reason).toBe('requested explicitly (NVIDIA H100 80GB HBM3)');
    expect(planDeviceEngine('webgpu', llvmpipe).reason).toMatch(
      /requested explicitly \(llvmpipe.*\); a software adapter/,
    );
    expect(() => planDeviceEngine('webgpu', none)).toThrow(/--backend webgpu: no WebGPU adapter \(no Vulkan driver\)/);
  });

  it('other backends keep tfjs without looking at the probe', () => {
    for (const backend of ['cpu', 'wasm', 'tensorflow']) {
      expect(planDeviceEngine(backend, h100)).toEqual({ engine: 'tfjs', reason: `--backend ${backend}` });
    }
  });
});
