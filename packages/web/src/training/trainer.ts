/**
 * The page's one training worker (mnist-worker.ts), shared by the train and draw panels: it outlives
 * a panel (a run goes on while you draw), and whoever listens hears its runs. What a run has
 * reported is kept here, so that a panel shown again draws it from the start.
 */
import type { EpochStats } from '@backprop/mlp/core';
import type { FromWorker, RunSettings } from './protocol.ts';

export type Status = 'idle' | 'loading' | 'training' | 'stopped' | 'done' | 'diverged' | 'error';

/** What the current run has reported. */
export interface RunRecord {
  settings: RunSettings;
  status: Status;
  trainImages: number;
  testImages: number;
  stepsPerEpoch: number;
  /** Every iteration's loss, in order. */
  losses: number[];
  epochs: EpochStats[];
  message?: string;
}

type Listener = (run: RunRecord) => void;

export class Trainer {
  #worker: Worker | undefined;
  #listeners = new Set<Listener>();
  #waiting = new Map<number, (scores: number[] | null) => void>();
  #next = 0;
  run: RunRecord | undefined;

  /** The worker, started on first use: its module sits beside index.html (scripts/build.ts). */
  get #w(): Worker {
    if (!this.#worker) {
      this.#worker = new Worker(new URL('mnist-worker.js', document.baseURI), { type: 'module' });
      this.#worker.onmessage = (e: MessageEvent<FromWorker>) => this.#heard(e.data);
      this.#worker.onerror = (e) => this.#heard({ type: 'error', message: e.message || 'the training worker failed to start' });
    }
    return this.#worker;
  }

  /** Starts a run (replacing the one in progress, if any). */
  start(settings: RunSettings): void {
    this.run = { settings, status: 'loading', trainImages: 0, testImages: 0, stepsPerEpoch: 0, losses: [], epochs: [] };
    this.#w.postMessage({ type: 'start', run: settings, data: 'mnist/' });
    this.#tell();
  }
  stop(): void {
    this.#worker?.postMessage({ type: 'stop' });
  }
  continue(): void {
    this.#worker?.postMessage({ type: 'continue' });
  }

  /** The ten scores of a 28x28 image under the network as it is now; null when no run has made one. */
  scores(pixels: Float32Array): Promise<number[] | null> {
    if (!this.run) return Promise.resolve(null);
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#w.postMessage({ type: 'scores', id, pixels });
    });
  }

  /** Calls `fn` now and after every report; returns the function that stops it. */
  listen(fn: Listener): () => void {
    this.#listeners.add(fn);
    if (this.run) fn(this.run);
    return () => this.#listeners.delete(fn);
  }

  #tell(): void {
    if (this.run) for (const fn of this.#listeners) fn(this.run);
  }

  #heard(m: FromWorker): void {
    if (m.type === 'scores') {
      this.#waiting.get(m.id)?.(m.scores);
      this.#waiting.delete(m.id);
      return;
    }
    const run = this.run;
    if (!run) return;
    if (m.type === 'started') Object.assign(run, { status: 'training', trainImages: m.trainImages, testImages: m.testImages, stepsPerEpoch: m.stepsPerEpoch });
    else if (m.type === 'progress') run.losses.push(...m.losses);
    else if (m.type === 'epoch') run.epochs.push(m.stats);
    else if (m.type === 'stopped') run.status = 'stopped';
    else if (m.type === 'continued') run.status = 'training';
    else if (m.type === 'done') Object.assign(run, { status: m.status, message: m.message });
    else if (m.type === 'error') Object.assign(run, { status: 'error', message: m.message });
    this.#tell();
  }
}

/** The page's trainer. */
export const trainer = new Trainer();

/** `backprop train ...`: the command that trains the same run, to the same bits, in Node. */
export function cliCommand(s: RunSettings): string {
  const network = s.model === 'lenet' ? ['--model examples/models/lenet.ts'] : [`--layers ${s.layers.join(',')}`, `--activation ${s.activation}`];
  return [
    'npx backprop train',
    ...network,
    `--loss ${s.loss}`,
    `--lr ${s.lr}`,
    `--batch-size ${s.batchSize}`,
    `--epochs ${s.epochs}`,
    ...(s.model === 'lenet' ? [] : [`--init ${s.init}`]),
    `--optimizer ${s.optimizer}`,
    `--seed ${s.seed}`,
    `--subset ${s.subset}`,
  ].join(' ');
}
