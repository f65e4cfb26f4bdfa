/** How a training run reports: a progress bar for people, JSON lines for scripts, or nothing. */
import cliProgress from 'cli-progress';
import type { EpochStats } from '@backprop/mlp';

export type ReportMode = 'bar' | 'json' | 'quiet';

export interface Reporter {
  iteration(iteration: number, epoch: number, loss: number): void;
  epoch(stats: EpochStats, epochs: number): void;
  stop(): void;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export function createReporter(mode: ReportMode, itersPerEpoch: number, label = ''): Reporter {
  if (mode === 'json') {
    return {
      iteration: () => {},
      epoch: (s) => console.log(JSON.stringify({ event: 'epoch', run: label || undefined, epoch: s.epoch, trainAccuracy: s.train.accuracy, testAccuracy: s.test.accuracy, trainLoss: s.train.loss, testLoss: s.test.loss, seconds: s.seconds })),
      stop: () => {},
    };
  }
  if (mode === 'quiet') return { iteration: () => {}, epoch: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label ? label + ' ' : ''}epoch {epoch} |{bar}| {value}/{total} it | loss {loss} | acc {acc} | ETA {eta_formatted}`,
      hideCursor: true, etaBuffer: 500, fps: 5, stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = 0, started = false, accuracy = '-';
  return {
    iteration(iteration, epoch, loss) {
      running = running === 0 ? loss : 0.99 * running + 0.01 * loss;
      const within = iteration - (epoch - 1) * itersPerEpoch;
      if (!started) {
        bar.start(itersPerEpoch, within, { epoch, loss: running.toFixed(4), acc: accuracy });
        started = true;
      } else bar.update(within, { epoch, loss: running.toFixed(4), acc: accuracy });
    },
    epoch(s, epochs) {
      accuracy = `${pct(s.train.accuracy)} / ${pct(s.test.accuracy)}`;
      bar.stop();
      started = false;
      console.error(`epoch ${s.epoch}/${epochs}: train ${pct(s.train.accuracy)} (loss ${s.train.loss.toFixed(4)}), test ${pct(s.test.accuracy)} (loss ${s.test.loss.toFixed(4)}), ${s.seconds.toFixed(1)} s`);
    },
    stop: () => bar.stop(),
  };
}
