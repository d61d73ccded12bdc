/**
 * The page: collects a case and models, runs the inference worker with a progress bar and cancel, then
 * shows the result (downloads, viewer, metrics table).
 */
import { describeCase, filesFromDrop, readFiles, type GivenCase } from './case-files.js';
import { demoModel } from './demo-model.js';
import { renderMetricsTable } from './metrics-table.js';
import { RunClock } from './progress.js';
import type {
  NamedBytes,
  PhantomFiles,
  SegmentOptions,
  SegmentRequest,
  SegmentResult,
  WorkerMessage,
  WorkerRequest,
} from './protocol.js';
import { knownTasks } from './tasks.js';
import type { CaseViewer } from './viewer.js';

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page: #${id} is missing`);
  return el as T;
}

const ui = {
  drop: byId<HTMLDivElement>('drop'),
  files: byId<HTMLInputElement>('files'),
  phantom: byId<HTMLButtonElement>('phantom'),
  caseStatus: byId<HTMLParagraphElement>('case-status'),
  models: byId<HTMLInputElement>('models'),
  task: byId<HTMLSelectElement>('task'),
  modelStatus: byId<HTMLParagraphElement>('model-status'),
  tta: byId<HTMLInputElement>('tta'),
  overlap: byId<HTMLInputElement>('overlap'),
  thresholds: byId<HTMLInputElement>('thresholds'),
  minSizes: byId<HTMLInputElement>('min-sizes'),
  weights: byId<HTMLInputElement>('weights'),
  threads: byId<HTMLInputElement>('threads'),
  fma: byId<HTMLSelectElement>('fma'),
  probabilities: byId<HTMLSelectElement>('probabilities'),
  run: byId<HTMLButtonElement>('run'),
  cancel: byId<HTMLButtonElement>('cancel'),
  progress: byId<HTMLProgressElement>('progress'),
  runStatus: byId<HTMLParagraphElement>('run-status'),
  result: byId<HTMLElement>('result-section'),
  summary: byId<HTMLParagraphElement>('summary'),
  download: byId<HTMLAnchorElement>('download'),
  downloadProbabilities: byId<HTMLAnchorElement>('download-probabilities'),
  opacity: byId<HTMLInputElement>('opacity'),
  background: byId<HTMLSelectElement>('background'),
  labelToggles: byId<HTMLSpanElement>('label-toggles'),
  canvas: byId<HTMLCanvasElement>('viewer'),
  metrics: byId<HTMLDivElement>('metrics'),
  metricsTable: byId<HTMLTableElement>('metrics-table'),
};

/** The case to run: files the user gave, or the built-in phantom's. */
let currentCase: { files: () => Promise<NamedBytes[]>; folder?: string } | undefined;
let worker: Worker | undefined;
let viewer: CaseViewer | undefined;
const objectUrls: string[] = [];

for (const t of knownTasks()) {
  const option = new Option(t.id, t.id);
  option.title = t.description;
  ui.task.append(option);
}
ui.threads.placeholder = String(Math.max(1, Math.min(8, navigator.hardwareConcurrency || 1)));

function setStatus(el: HTMLElement, text: string, error = false): void {
  el.textContent = text;
  el.classList.toggle('error', error);
}

function setState(state: 'idle' | 'running' | 'done' | 'error' | 'cancelled'): void {
  document.body.dataset.state = state;
  ui.run.disabled = state === 'running' || currentCase === undefined;
  ui.cancel.disabled = state !== 'running';
}

function useGivenCase(given: GivenCase): void {
  try {
    setStatus(ui.caseStatus, describeCase(given));
    currentCase = { files: () => readFiles(given.files), folder: given.folder };
  } catch (error) {
    setStatus(ui.caseStatus, (error as Error).message, true);
    currentCase = undefined;
  }
  setState('idle');
}

ui.files.addEventListener('change', () => useGivenCase({ files: [...(ui.files.files ?? [])] }));
ui.drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  ui.drop.classList.add('over');
});
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (event) => {
  event.preventDefault();
  ui.drop.classList.remove('over');
  if (!event.dataTransfer) return;
  filesFromDrop(event.dataTransfer).then(useGivenCase, (error: Error) => setStatus(ui.caseStatus, error.message, true));
});
ui.phantom.addEventListener('click', () => {
  setStatus(ui.caseStatus, 'building the phantom case…');
  const files = ask<PhantomFiles>({ type: 'phantom' }, []).then((m) => m.files);
  currentCase = { files: () => files };
  files.then(
    (f) => setStatus(ui.caseStatus, `built-in phantom case: ${f.map((x) => x.name).join(', ')}`),
    (error: Error) => setStatus(ui.caseStatus, `phantom: ${error.message}`, true),
  );
  setState('idle');
});
/** The models picked, e.g. `ensemble of 2: a.safetensors, b.ckpt` (or the demo model). */
function pickedModels(): string {
  const files = [...(ui.models.files ?? [])];
  return files.length === 0
    ? 'demo model'
    : `${files.length === 1 ? 'model' : `ensemble of ${files.length}`}: ${files.map((f) => f.name).join(', ')}`;
}
ui.models.addEventListener('change', () => setStatus(ui.modelStatus, pickedModels()));
ui.task.addEventListener('change', () => setStatus(ui.modelStatus, pickedModels()));

function readOptions(): SegmentOptions {
  const threads = ui.threads.value.trim() === '' ? undefined : Number(ui.threads.value);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1))
    throw new Error(`threads must be a positive integer, got ${ui.threads.value}`);
  return {
    tta: ui.tta.checked,
    overlap: Number(ui.overlap.value),
    thresholds: ui.thresholds.value,
    minSizes: ui.minSizes.value,
    weights: ui.weights.value,
    ...(threads !== undefined ? { threads } : {}),
    fma: ui.fma.value === 'off' ? false : 'auto',
    probabilities: ui.probabilities.value as SegmentOptions['probabilities'],
  };
}

function stopWorker(): void {
  worker?.terminate();
  worker = undefined;
}

/**
 * Sends one request to the worker (started on first use and kept for later runs) and resolves with its
 * answer; `onMessage` sees the stage and progress messages on the way.
 */
function ask<T extends SegmentResult | PhantomFiles>(
  request: WorkerRequest,
  transfer: Transferable[],
  onMessage: (m: WorkerMessage) => void = () => {},
): Promise<T> {
  worker ??= new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  const w = worker;
  return new Promise<T>((resolve, reject) => {
    w.onerror = (event) => reject(new Error(`the inference worker failed: ${event.message}`));
    w.onmessage = (event: MessageEvent<WorkerMessage>) => {
      const m = event.data;
      if (m.type === 'error') reject(new Error(m.message));
      else if (m.type === request.type || (m.type === 'result' && request.type === 'segment')) resolve(m as T);
      else onMessage(m);
    };
    w.postMessage(request, transfer);
  });
}

async function run(): Promise<void> {
  if (!currentCase) return;
  setState('running');
  ui.result.hidden = true;
  ui.progress.value = 0;
  const clock = new RunClock();
  try {
    const options = readOptions();
    const picked = [...(ui.models.files ?? [])];
    const models = picked.length > 0 ? await readFiles(picked) : [await demoModel()];
    const files = await currentCase.files();
    const request: SegmentRequest = {
      type: 'segment',
      // Copies: the built-in phantom's buffers are reused by later runs, and the request transfers them.
      files: files.map((f) => ({ name: f.name, bytes: f.bytes.slice(0) })),
      ...(currentCase.folder ? { fallbackId: currentCase.folder } : {}),
      models,
      ...(ui.task.value ? { task: ui.task.value } : {}),
      options,
    };
    performance.mark('mednext:run-start');
    const result = await ask<SegmentResult>(
      request,
      [...request.files.map((f) => f.bytes), ...request.models.map((f) => f.bytes)],
      (m) => {
        if (m.type === 'stage') setStatus(ui.runStatus, `${m.text}…`);
        else if (m.type === 'models')
          setStatus(ui.modelStatus, `${pickedModels()}. Task ${m.taskId}; ${m.descriptions.join('; ')}`);
        else if (m.type === 'progress') {
          const p = clock.update(m.model, m.models, m.done, m.total);
          ui.progress.value = p.fraction;
          setStatus(ui.runStatus, p.text);
        }
      },
    );
    performance.mark('mednext:result');
    ui.progress.value = 1;
    await showResult(result);
    setState('done');
  } catch (error) {
    stopWorker();
    setStatus(ui.runStatus, (error as Error).message, true);
    setState('error');
  }
}

function downloadLink(a: HTMLAnchorElement, file: NamedBytes): void {
  const url = URL.createObjectURL(new Blob([file.bytes], { type: 'application/gzip' }));
  objectUrls.push(url);
  a.href = url;
  a.download = file.name;
  a.textContent = `Download ${file.name}`;
}

async function showResult(result: SegmentResult): Promise<void> {
  for (const url of objectUrls.splice(0)) URL.revokeObjectURL(url);
  const counts = result.labels.map((l) => `${l.name} ${result.voxelCounts[l.value] ?? 0}`).join(', ');
  ui.summary.textContent =
    `${result.id} (task ${result.taskId}): voxels ${counts}. ${result.seconds.total.toFixed(1)} s ` +
    `(inference ${result.seconds.inference.toFixed(1)} s, ${result.backend} with the WebAssembly kernels on ` +
    `${result.threads} thread(s)${result.fma ? ', FMA' : ''})` +
    (result.ignored.length ? `; files not used: ${result.ignored.join(', ')}` : '') +
    (result.warnings.length ? `; warnings: ${result.warnings.join('; ')}` : '');
  setStatus(ui.runStatus, `done in ${result.seconds.total.toFixed(1)} s`);
  downloadLink(ui.download, result.segmentation);
  ui.downloadProbabilities.hidden = !result.probabilities;
  if (result.probabilities) downloadLink(ui.downloadProbabilities, result.probabilities);
  ui.metrics.hidden = !result.metrics;
  if (result.metrics) renderMetricsTable(ui.metricsTable, result.metrics);
  ui.result.hidden = false;

  ui.background.replaceChildren(...result.modalities.map((m, i) => new Option(m.name, String(i), i === 0, i === 0)));
  const { CaseViewer, labelColour } = await import('./viewer.js');
  viewer ??= await CaseViewer.create(ui.canvas);
  ui.labelToggles.replaceChildren(
    ...result.labels.map((l) => {
      const label = document.createElement('label');
      label.className = 'label-toggle';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = true;
      box.dataset.label = String(l.value);
      box.addEventListener('change', () => viewer?.setLabelVisible(l.value, box.checked));
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = `rgb(${labelColour(l.value).join(',')})`;
      label.append(box, swatch, ` ${l.name}`);
      return label;
    }),
  );
  await viewer.show(result.modalities, result.segmentation, result.labels, Number(ui.opacity.value), result.centre);
  performance.mark('mednext:overlay');
  document.body.dataset.viewer = 'ready';
}

ui.opacity.addEventListener('input', () => viewer?.setOpacity(Number(ui.opacity.value)));
ui.background.addEventListener('change', () => void viewer?.setBackground(Number(ui.background.value)));
ui.run.addEventListener('click', () => void run());
ui.cancel.addEventListener('click', () => {
  stopWorker();
  setStatus(ui.runStatus, 'cancelled');
  ui.progress.value = 0;
  setState('cancelled');
});
setState('idle');
