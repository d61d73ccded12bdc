/**
 * The inference worker: handles one request at a time (a segmentation, or building the built-in phantom).
 * It stays up between runs so the engine is set up once; the page cancels a run by terminating it (the
 * kernel threads go with it), which leaves nothing behind.
 */
import { phantomCase } from './demo.js';
import type { WorkerMessage, WorkerRequest } from './protocol.js';
import { segmentRequest } from './segment.js';

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
};

function fail(error: unknown): void {
  scope.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) });
}

scope.onmessage = (event) => {
  const request = event.data;
  if (request.type === 'phantom') {
    phantomCase().then(
      (files) =>
        scope.postMessage(
          { type: 'phantom', files },
          files.map((f) => f.bytes),
        ),
      fail,
    );
    return;
  }
  segmentRequest(request, (m) => scope.postMessage(m)).then((result) => {
    const transfer = [result.segmentation.bytes, ...(result.probabilities ? [result.probabilities.bytes] : [])];
    scope.postMessage(result, transfer);
  }, fail);
};
