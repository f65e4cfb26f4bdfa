/**
 * How a training run reports: a progress bar for people, JSON lines for scripts, or nothing.
 *
 * Streams: each epoch's result line goes to `results` (stdout for `backprop train`: what the run
 * found), the progress (the bar, or its lines off a terminal) to `progress` (stderr: how it is going).
 * Off a terminal the lines do not depend on the machine's speed: an epoch gets progress lines at
 * fixed fractions of it, as many as its work calls for (`linesPerEpoch`), and its result line always
 * comes before the next epoch's progress lines, however long its evaluation (in a second thread) takes.
 */
import cliProgress from 'cli-progress';
import type { EpochStats, TrainedEpoch } from '@backprop/mlp';
import { metricText } from '../format.ts';
import { metricFields } from './metrics.ts';

export type ReportMode = 'bar' | 'json' | 'quiet';

export interface Reporter {
  iteration(iteration: number, epoch: number, loss: number): void;
  /** An epoch's training is done (its evaluation starts). */
  trained(trained: TrainedEpoch): void;
  /** An epoch's evaluation is in: its result line. */
  epoch(stats: EpochStats): void;
  stop(): void;
}

export interface ReporterOptions {
  /** Put before every line (a sweep's run). */
  label?: string;
  /** Where the bar, or the progress lines, go: stderr by default. */
  progress?: NodeJS.WriteStream;
  /** Where each epoch's result line goes: stderr by default (`backprop train` gives stdout). */
  results?: NodeJS.WritableStream;
  /** Whether each epoch's evaluation overlaps the next epoch's training (the evaluation thread). */
  background?: boolean;
  /** Multiply-adds of one epoch's training, about 3 x parameters x images: how many progress lines an epoch gets off a terminal. */
  epochWork?: number;
  /** The training images of an epoch, and the images evaluated after it: the first guess of an evaluation's time. */
  images?: { train: number; evaluated: number };
}

/**
 * Training work between two progress lines off a terminal: about a minute of the paper's network
 * on this machine (2.8e10 multiply-adds a second in training, Xeon and EPYC alike).
 */
export const workPerProgressLine = 1.5e12;

/**
 * Progress lines an epoch gets off a terminal: one for every `workPerProgressLine` of its work, none
 * for an epoch shorter than that, at most 59; BACKPROP_PROGRESS_LINES sets the number instead.
 */
export function linesPerEpoch(epochWork: number, env: NodeJS.ProcessEnv = process.env): number {
  const set = env.BACKPROP_PROGRESS_LINES;
  if (set !== undefined && set !== '') {
    const n = Number(set);
    if (!(Number.isInteger(n) && n >= 0)) throw new Error(`BACKPROP_PROGRESS_LINES=${set}: expected a whole number of progress lines an epoch (0: none)`);
    return n;
  }
  return Math.min(59, Math.floor(epochWork / workPerProgressLine));
}

/** The iterations within an epoch after which a progress line is printed: at fractions 1/(n+1), ..., n/(n+1). */
export function progressPoints(itersPerEpoch: number, lines: number): Set<number> {
  const points = new Set<number>();
  for (let j = 1; j <= lines; j++) points.add(Math.max(1, Math.round((j * itersPerEpoch) / (lines + 1))));
  return points;
}

const clock = (s: number) =>
  s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`
      : `${Math.round(s)}s`;

const epochLine = (s: EpochStats, epochs: number) =>
  `epoch ${s.epoch}/${epochs}: train ${metricText(s.train)} (loss ${s.train.loss.toFixed(4)}), test ${metricText(s.test)} (loss ${s.test.loss.toFixed(4)})` +
  `${s.validation ? `, validation ${metricText(s.validation)} (loss ${s.validation.loss.toFixed(4)})` : ''}, ${s.seconds.toFixed(1)} s`;

export function createReporter(mode: ReportMode, itersPerEpoch: number, epochs: number, options: ReporterOptions = {}): Reporter {
  const { label = '', progress: stream = process.stderr, results = process.stderr } = options;
  if (mode === 'json') {
    return {
      iteration: () => {},
      trained: () => {},
      epoch: (s) =>
        console.log(
          JSON.stringify({
            event: 'epoch',
            run: label || undefined,
            epoch: s.epoch,
            ...metricFields('train', s.train),
            ...metricFields('test', s.test),
            trainLoss: s.train.loss,
            testLoss: s.test.loss,
            ...(s.validation && { ...metricFields('validation', s.validation), validationLoss: s.validation.loss }),
            lr: s.lr,
            seconds: s.seconds,
          }),
        ),
      stop: () => {},
    };
  }
  if (mode === 'quiet') return { iteration: () => {}, trained: () => {}, epoch: () => {}, stop: () => {} };
  const progress = tracker(itersPerEpoch, epochs, options);
  const prefix = label ? label + ' ' : '';
  if (!stream.isTTY) {
    // cli-progress draws nothing off a terminal: lines at fixed points of each epoch take its place.
    const points = progressPoints(itersPerEpoch, linesPerEpoch(options.epochWork ?? 0));
    // Epochs trained whose result line is not yet printed, and the progress lines of later epochs held back meanwhile.
    const unreported = new Set<number>();
    const held: { epoch: number; line: string }[] = [];
    const due = (epoch: number) => ![...unreported].some((e) => e < epoch);
    return {
      iteration(iteration, epoch, loss) {
        const p = progress.iteration(iteration, epoch, loss);
        if (!points.has(p.within)) return;
        const line = `${prefix}epoch ${epoch}/${epochs}: ${p.within}/${itersPerEpoch} it, loss ${p.loss}, left ${p.left}\n`;
        if (due(epoch)) stream.write(line);
        else held.push({ epoch, line });
      },
      trained(t) {
        progress.trained(t);
        unreported.add(t.epoch);
      },
      epoch(s) {
        progress.epoch(s);
        unreported.delete(s.epoch);
        results.write(`${prefix}${epochLine(s, epochs)}\n`);
        while (held.length && due(held[0].epoch)) stream.write(held.shift()!.line);
      },
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${prefix}epoch {epoch}/${epochs} |{bar}| {value}/{total} it | loss {loss} | acc {acc} | left {left}`,
      // Cleared when stopped: an epoch's result line takes its place, and the bar goes on below it.
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
      stream,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    iteration(iteration, epoch, loss) {
      const p = progress.iteration(iteration, epoch, loss);
      const payload = { epoch, loss: p.loss, acc: p.accuracy, left: p.left };
      if (!started) {
        bar.start(itersPerEpoch, p.within, payload);
        started = true;
      } else bar.update(p.within, payload);
    },
    trained: (t) => progress.trained(t),
    epoch(s) {
      progress.epoch(s);
      bar.stop();
      started = false;
      results.write(`${prefix}${epochLine(s, epochs)}\n`);
    },
    stop: () => bar.stop(),
  };
}

/**
 * Seconds left in a run at iteration `within` of `epoch`: the training left at `perIteration`
 * seconds an iteration, and the evaluations left at `evaluation` seconds each. In one thread, each
 * epoch's evaluation follows its training; with the evaluation thread (`background`), it overlaps
 * the next epoch's training, which waits for it only when it takes longer, and the last one is
 * waited for at the end.
 */
export function timeLeft(t: {
  perIteration: number;
  itersPerEpoch: number;
  within: number;
  epoch: number;
  epochs: number;
  evaluation: number;
  background: boolean;
}): number {
  const epochSeconds = t.perIteration * t.itersPerEpoch;
  const after = t.epochs - t.epoch; // whole epochs after this one
  const thisEpoch = (t.itersPerEpoch - t.within) * t.perIteration;
  return t.background ? thisEpoch + after * Math.max(epochSeconds, t.evaluation) + t.evaluation : thisEpoch + after * epochSeconds + (after + 1) * t.evaluation;
}

/**
 * The running loss, the last accuracies and the time left in the run. The time left is that of the
 * training left (at the training's own rate, measured over the iterations) plus that of the
 * evaluations left (at the last evaluation's time): all of them in one thread; with the evaluation
 * thread, the last one, and any that takes longer than an epoch's training (which then waits for it).
 */
function tracker(itersPerEpoch: number, epochs: number, { background = false, images }: ReporterOptions) {
  let running = 0,
    accuracy = '-';
  let trainingSeconds = 0,
    timedIterations = 0,
    last: number | undefined;
  let evaluationSeconds: number | undefined;
  const trainedSeconds = new Map<number, number>();
  return {
    iteration(iteration: number, epoch: number, loss: number) {
      running = running === 0 ? loss : 0.99 * running + 0.01 * loss;
      const within = iteration - (epoch - 1) * itersPerEpoch;
      const now = performance.now();
      // The time between two iterations of an epoch; not the pause between epochs (an evaluation, a checkpoint).
      if (last !== undefined) {
        trainingSeconds += (now - last) / 1000;
        timedIterations++;
      }
      last = now;
      const perIteration = timedIterations ? trainingSeconds / timedIterations : 0;
      // Before the first evaluation is in: a third of a training image's time for each image evaluated (forward only).
      const evaluation = evaluationSeconds ?? (images ? (perIteration * itersPerEpoch * images.evaluated) / images.train / 3 : 0);
      const left = timeLeft({ perIteration, itersPerEpoch, within, epoch, epochs, evaluation, background });
      return { within, loss: running.toFixed(4), accuracy, left: timedIterations ? clock(left) : '-' };
    },
    trained(t: TrainedEpoch) {
      trainedSeconds.set(t.epoch, t.seconds);
      last = undefined;
    },
    epoch(s: EpochStats) {
      const trained = trainedSeconds.get(s.epoch);
      if (trained !== undefined) evaluationSeconds = Math.max(0, s.seconds - trained);
      trainedSeconds.delete(s.epoch);
      accuracy = `${metricText(s.train)} / ${metricText(s.test)}`;
    },
  };
}
