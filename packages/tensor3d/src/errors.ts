/**
 * Typed errors of tensor3d. Failures that reach a user carry a stable `code`, so callers can branch on the
 * problem without parsing messages; the messages name the function or kernel and the offending value.
 *
 * @example
 * ```ts
 * try {
 *   depthwiseConv3d(rt, { x, shape, filter, k: 4 });
 * } catch (e) {
 *   if (e instanceof Tensor3dError && e.code === 'BAD_SHAPE') console.error(e.message);
 * }
 * ```
 */

/** Stable machine-readable reasons a tensor3d call fails. */
export type Tensor3dErrorCode =
  /** an array's length, a shape or a size does not fit the operation */
  | 'BAD_SHAPE'
  /** an option or argument is out of its range (kernel size, stride, thread count...) */
  | 'BAD_ARGUMENT'
  /** a WebAssembly kernel was called with a wrong argument name, count or type */
  | 'KERNEL_ARGUMENT'
  /** no kernel of that name is part of the runtime's module */
  | 'UNKNOWN_KERNEL'
  /** a kernel failed while it ran (a trap, e.g. an out-of-bounds access, in the caller or a worker thread) */
  | 'KERNEL_FAILED'
  /** the kernel runtime or a feature it needs (relaxed SIMD, threads) is not available here */
  | 'RUNTIME_UNAVAILABLE'
  /** an explicitly requested tfjs backend cannot be used (see `BackendUnavailableError`) */
  | 'BACKEND_UNAVAILABLE'
  /** the kernels' memory limit (4 GiB of WebAssembly memory) would be exceeded */
  | 'OUT_OF_MEMORY'
  /** kernel memory was used the wrong way (e.g. freeing a scoped block) */
  | 'BAD_MEMORY_USE';

/** Error raised by tensor3d for invalid input and for kernel-runtime failures. */
export class Tensor3dError extends Error {
  override name = 'Tensor3dError';

  constructor(
    /** Stable reason code. */
    readonly code: Tensor3dErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
