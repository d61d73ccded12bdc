/**
 * The in-memory form of a checkpoint: named float32 tensors in PyTorch layout, in file order.
 */

/** One tensor of a checkpoint, float32, C order, PyTorch layout (e.g. OIDHW for a conv). */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

/** Named tensors keyed by their official state-dict names, in insertion (= file) order. */
export type StateDict = Map<string, NamedTensor>;

/** Number of elements of a shape. */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** `[4,1,3,3,3]` → `4x1x3x3x3`, for messages. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 0 ? 'scalar' : shape.join('x');
}
