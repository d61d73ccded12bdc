/**
 * The inference worker: one {@link SegmentRequest} at a time. The page cancels a run by terminating the
 * worker (the kernel threads go with it), which leaves nothing behind.
 */
import type { SegmentRequest, WorkerMessage } from './protocol.js';
import { segmentRequest } from './segment.js';

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<SegmentRequest>) => void) | null;
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
};

scope.onmessage = (event) => {
  segmentRequest(event.data, (m) => scope.postMessage(m)).then(
    (result) => {
      const transfer = [result.segmentation.bytes, ...(result.probabilities ? [result.probabilities.bytes] : [])];
      scope.postMessage(result, transfer);
    },
    (error: unknown) =>
      scope.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
};
