/** One request/reply exchange with a dedicated worker that answers `{ ok, result }` or `{ ok: false, error }`. */

/** What the test workers post back. */
export type WorkerReply<T> = { ok: true; result: T } | { ok: false; error: string };

/**
 * Posts `message` to `worker`, resolves with its result and terminates it. The caller constructs the worker
 * with a literal `new Worker(new URL('./x.ts', import.meta.url), { type: 'module' })`, the form Vite bundles.
 */
export function callWorker<T>(worker: Worker, message: unknown, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<WorkerReply<T>>) => {
      worker.terminate();
      if (event.data.ok) resolve(event.data.result);
      else reject(new Error(`${what} failed in its worker: ${event.data.error}`));
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(`${what}: worker error: ${event.message}`));
    };
    worker.postMessage(message);
  });
}

/** Serves one kind of request in a worker: runs `handler` on each message and posts a {@link WorkerReply}. */
export function serveInWorker<Q, T>(handler: (request: Q) => Promise<T>): void {
  self.onmessage = (event: MessageEvent<Q>) => {
    handler(event.data).then(
      (result) => self.postMessage({ ok: true, result } satisfies WorkerReply<T>),
      (error: unknown) =>
        self.postMessage({
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        } satisfies WorkerReply<T>),
    );
  };
}
