/** How a training run reports: a progress bar for people, JSON lines for scripts, or nothing. */
import cliProgress from 'cli-progress';
import type { EpochStats } from '@backprop/mlp';
import { metricText } from '../format.ts';
import { metricFields } from './metrics.ts';

export type ReportMode = 'bar' | 'json' | 'quiet';

export interface Reporter {
  iteration(iteration: number, epoch: number, loss: number): void;
  epoch(stats: EpochStats, epochs: number): void;
  stop(): void;
}

/**
 * When stderr is not a terminal (a log file, a pipe, CI), a progress line this often instead of
 * the bar: 2 seconds, or BACKPROP_PROGRESS_SECONDS.
 */
function progressLineSeconds(): number {
  const s = Number(process.env.BACKPROP_PROGRESS_SECONDS);
  return s > 0 ? s : 2;
}

const clock = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`);

const epochLine = (s: EpochStats, epochs: number) =>
  `epoch ${s.epoch}/${epochs}: train ${metricText(s.train)} (loss ${s.train.loss.toFixed(4)}), test ${metricText(s.test)} (loss ${s.test.loss.toFixed(4)})` +
  `${s.validation ? `, validation ${metricText(s.validation)} (loss ${s.validation.loss.toFixed(4)})` : ''}, ${s.seconds.toFixed(1)} s`;

export function createReporter(mode: ReportMode, itersPerEpoch: number, epochs: number, label = '', stream: NodeJS.WriteStream = process.stderr): Reporter {
  if (mode === 'json') {
    return {
      iteration: () => {},
      epoch: (s) => console.log(JSON.stringify({ event: 'epoch', run: label || undefined, epoch: s.epoch, ...metricFields('train', s.train), ...metricFields('test', s.test), trainLoss: s.train.loss, testLoss: s.test.loss, ...(s.validation && { ...metricFields('validation', s.validation), validationLoss: s.validation.loss }), lr: s.lr, seconds: s.seconds })),
      stop: () => {},
    };
  }
  if (mode === 'quiet') return { iteration: () => {}, epoch: () => {}, stop: () => {} };
  const progress = tracker(itersPerEpoch, epochs);
  const prefix = label ? label + ' ' : '';
  if (!stream.isTTY) {
    // cli-progress draws nothing off a terminal: a line every few seconds shows the run is alive.
    const every = progressLineSeconds() * 1000;
    let lastLine = performance.now();
    return {
      iteration(iteration, epoch, loss) {
        const p = progress.iteration(iteration, epoch, loss);
        const now = performance.now();
        if (now - lastLine < every) return;
        lastLine = now;
        stream.write(`${prefix}epoch ${epoch}/${epochs}: ${p.within}/${itersPerEpoch} it, loss ${p.loss}, left ${p.left}\n`);
      },
      epoch(s) {
        progress.epoch(s);
        lastLine = performance.now();
        stream.write(`${prefix}${epochLine(s, epochs)}\n`);
      },
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${prefix}epoch {epoch}/${epochs} |{bar}| {value}/{total} it | loss {loss} | acc {acc} | left {left}`,
      hideCursor: true, etaBuffer: 500, fps: 5, stream,
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
    epoch(s) {
      progress.epoch(s);
      bar.stop();
      started = false;
      stream.write(`${prefix}${epochLine(s, epochs)}\n`);
    },
    stop: () => bar.stop(),
  };
}

/** The running loss, the last accuracies and the time left in the run, as the bar and the lines show them. */
function tracker(itersPerEpoch: number, epochs: number) {
  let running = 0, accuracy = '-', epochSeconds = 0;
  let t0 = performance.now(), itersSeen = 0;
  return {
    iteration(iteration: number, epoch: number, loss: number) {
      running = running === 0 ? loss : 0.99 * running + 0.01 * loss;
      const within = iteration - (epoch - 1) * itersPerEpoch;
      // Time left in the run: from the last epoch's wall time (evaluation included) once there is one.
      itersSeen++;
      const perIteration = epochSeconds ? epochSeconds / itersPerEpoch : (performance.now() - t0) / 1000 / itersSeen;
      return { within, loss: running.toFixed(4), accuracy, left: clock(((epochs - epoch + 1) * itersPerEpoch - within) * perIteration) };
    },
    epoch(s: EpochStats) {
      epochSeconds = s.seconds;
      t0 = performance.now();
      itersSeen = 0;
      accuracy = `${metricText(s.train)} / ${metricText(s.test)}`;
    },
  };
}
