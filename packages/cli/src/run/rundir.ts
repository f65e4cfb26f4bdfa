/**
 * A run directory: config.json (the resolved settings, seed and versions), metrics.jsonl (every
 * iteration's loss, one line per epoch, and each epoch's train/test accuracy and loss), a
 * checkpoint per epoch, model.safetensors and summary.json at the end. Every file is written
 * atomically, so a killed run leaves only whole files, and `--resume` continues from the last
 * checkpoint with exactly the bits an uninterrupted run would have.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '@backprop/graph';
import { loadModel, saveModel, startState, writeFileAtomic, type EpochStats, type TrainState } from '@backprop/mlp';
import { validateConfig, type RunConfig } from './config.ts';
import { version } from '../version.ts';

export interface MetricsLine {
  type: 'iterations' | 'epoch';
  epoch: number;
  [key: string]: unknown;
}

const checkpointName = (epoch: number) => `checkpoint-epoch-${String(epoch).padStart(3, '0')}.safetensors`;

export class RunDir {
  private metrics: MetricsLine[] = [];

  private constructor(readonly dir: string, readonly config: RunConfig) {}

  /** A new run in `dir`, which must not already hold one. */
  static create(dir: string, config: RunConfig): RunDir {
    if (existsSync(join(dir, 'config.json'))) {
      throw new Error(`${dir}: already holds a run; continue it with --resume ${dir}, or choose another --out`);
    }
    mkdirSync(dir, { recursive: true });
    const run = new RunDir(dir, config);
    const versions = { node: process.version, backprop: version };
    writeFileAtomic(join(dir, 'config.json'), JSON.stringify({ config, seed: config.seed, versions, started: new Date().toISOString() }, null, 2) + '\n');
    return run;
  }

  /** An existing run, with its config and the metrics logged up to its last checkpoint. */
  static open(dir: string): RunDir {
    const path = join(dir, 'config.json');
    if (!existsSync(path)) throw new Error(`${dir}: no run here (no config.json); start one with backprop train --out ${dir}`);
    const run = new RunDir(dir, validateConfig(JSON.parse(readFileSync(path, 'utf8')).config, path));
    // A process killed while writing leaves only its temporary file: drop it.
    for (const f of readdirSync(dir)) if (/\.tmp-\d+$/.test(f)) rmSync(join(dir, f), { force: true });
    const metricsPath = join(dir, 'metrics.jsonl');
    if (existsSync(metricsPath)) {
      const lines = readFileSync(metricsPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as MetricsLine);
      run.metrics = lines.filter((l) => l.epoch <= run.lastCheckpointEpoch());
    }
    return run;
  }

  get isComplete(): boolean {
    return existsSync(join(this.dir, 'summary.json'));
  }

  lastCheckpointEpoch(): number {
    const epochs = readdirSync(this.dir)
      .map((f) => /^checkpoint-epoch-(\d+)\.safetensors$/.exec(f))
      .filter((m) => m !== null)
      .map((m) => Number(m![1]));
    return epochs.length ? Math.max(...epochs) : 0;
  }

  /** The training state: fresh, or restored from the last checkpoint. */
  state(): TrainState {
    const state = startState(this.config);
    const epoch = this.lastCheckpointEpoch();
    if (epoch === 0) return state;
    const { net, metadata, extra } = loadModel(join(this.dir, checkpointName(epoch)), this.config.layers);
    state.net.parameters().forEach((p, i) => p.array.data.set(net.parameters()[i].array.data));
    state.optimizer.state().forEach((buffer, i) => {
      const saved = extra.get(`optimizer.${i}`);
      if (!saved || saved.length !== buffer.length) throw new Error(`${this.dir}: checkpoint of epoch ${epoch} lacks optimizer state ${i}`);
      buffer.set(saved);
    });
    return { ...state, rng: Rng.fromState(JSON.parse(metadata.rng)), epoch, iteration: Number(metadata.iteration) };
  }

  /** Logs an epoch (its iteration losses and evaluation) and checkpoints the state after it. */
  endEpoch(stats: EpochStats, losses: number[], state: TrainState): void {
    const first = state.iteration - losses.length + 1;
    this.metrics.push({ type: 'iterations', epoch: stats.epoch, first, losses: losses.map((l) => Number(l.toPrecision(6))) });
    this.metrics.push({
      type: 'epoch', epoch: stats.epoch, iteration: state.iteration, meanIterationLoss: stats.meanIterationLoss,
      trainAccuracy: stats.train.accuracy, trainLoss: stats.train.loss, testAccuracy: stats.test.accuracy, testLoss: stats.test.loss, seconds: stats.seconds,
    });
    // Metrics first, then the checkpoint: a crash between the two leaves metrics ahead of the last
    // checkpoint, which `open` drops, never a checkpoint whose epoch the metrics lack.
    writeFileAtomic(join(this.dir, 'metrics.jsonl'), this.metrics.map((m) => JSON.stringify(m)).join('\n') + '\n');
    const extra = Object.fromEntries(state.optimizer.state().map((b, i) => [`optimizer.${i}`, b]));
    saveModel(join(this.dir, checkpointName(stats.epoch)), state.net, { config: this.config, epoch: state.epoch, iteration: state.iteration, rng: state.rng.state() }, extra);
  }

  epochLines(): MetricsLine[] {
    return this.metrics.filter((m) => m.type === 'epoch');
  }

  /** Ends the run; `partial` holds the losses of an epoch cut short (a diverging run), kept in the log. */
  finish(state: TrainState, summary: Record<string, unknown>, partial: number[] = []): void {
    if (partial.length) {
      this.metrics.push({ type: 'iterations', epoch: state.epoch + 1, first: state.iteration - partial.length + 1, losses: partial, partial: true });
      writeFileAtomic(join(this.dir, 'metrics.jsonl'), this.metrics.map((m) => JSON.stringify(m)).join('\n') + '\n');
    }
    saveModel(join(this.dir, 'model.safetensors'), state.net, { config: this.config });
    writeFileAtomic(join(this.dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  }
}
