/** How a training run reports: a progress bar for people, JSON lines for scripts, or nothing. */
import cliProgress from 'cli-progress';
import type { EpochStats } from '@backprop/mlp';
import { pct } from '../format.ts';

export type ReportMode = 'bar' | 'json' | 'quiet';

export interface Reporter {
  iteration(iteration: number, epoch: number, loss: number): void;
  epoch(stats: EpochStats, epochs: number): void;
  stop(): void;
}


const clock = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`);

export function createReporter(mode: ReportMode, itersPerEpoch: number, epochs: number, label = ''): Reporter {
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
      format: `${label ? label + ' ' : ''}epoch {epoch}/${epochs} |{bar}| {value}/{total} it | loss {loss} | acc {acc} | left {left}`,
      hideCursor: true, etaBuffer: 500, fps: 5, stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = 0, started = false, accuracy = '-', epochSeconds = 0;
  let t0 = performance.now(), itersSeen = 0;
  return {
    iteration(iteration, epoch, loss) {
      running = running === 0 ? loss : 0.99 * running + 0.01 * loss;
      const within = iteration - (epoch - 1) * itersPerEpoch;
      // Time left in the run: from the last epoch's wall time (evaluation included) once there is one.
      itersSeen++;
      const perIteration = epochSeconds ? epochSeconds / itersPerEpoch : (performance.now() - t0) / 1000 / itersSeen;
      const payload = { epoch, loss: running.toFixed(4), acc: accuracy, left: clock(((epochs - epoch + 1) * itersPerEpoch - within) * perIteration) };
      if (!started) {
        bar.start(itersPerEpoch, within, payload);
        started = true;
      } else bar.update(within, payload);
    },
    epoch(s, epochs) {
      epochSeconds = s.seconds;
      t0 = performance.now();
      itersSeen = 0;
      accuracy = `${pct(s.train.accuracy)} / ${pct(s.test.accuracy)}`;
      bar.stop();
      started = false;
      console.error(`epoch ${s.epoch}/${epochs}: train ${pct(s.train.accuracy)} (loss ${s.train.loss.toFixed(4)}), test ${pct(s.test.accuracy)} (loss ${s.test.loss.toFixed(4)}), ${s.seconds.toFixed(1)} s`);
    },
    stop: () => bar.stop(),
  };
}
