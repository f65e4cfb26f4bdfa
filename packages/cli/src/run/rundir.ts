/**
 * A run directory: config.json (the resolved settings, seed and versions), metrics.jsonl (every
 * iteration's loss, one line per epoch, and each epoch's train/test accuracy and loss), the
 * checkpoints of the last epochs, model.safetensors and summary.json at the end. Every file is
 * written atomically, so a killed run or a full disk leaves only whole files; every checkpoint
 * carries a checksum, and `--resume` continues from the last valid one with exactly the bits an
 * uninterrupted run would have. One process at a time writes a run directory (lock.ts).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Rng } from '@backprop/graph';
import { fileError, ModelNetwork, readTensorFile, restoreNetwork, saveModel, startState, writeFileAtomic, type EpochStats, type ModelFile, type Network, type TrainedEpoch, type TrainState } from '@backprop/mlp';
import { validateConfig, type RunConfig } from './config.ts';
import { lockRunDir, type RunLock } from './lock.ts';
import { version } from '../version.ts';

export interface MetricsLine {
  type: 'iterations' | 'epoch';
  epoch: number;
  [key: string]: unknown;
}

/** Checkpoints kept by default: the last few, so that a damaged last one still leaves one to resume from. */
export const defaultKeepCheckpoints = 3;

const checkpointName = (epoch: number) => `checkpoint-epoch-${String(epoch).padStart(3, '0')}.safetensors`;
/** What a run writes before its first checkpoint (what a failed start removes). */
const startFiles = ['config.json', 'metrics.jsonl'];

export class RunDir {
  private metrics: MetricsLine[] = [];
  /** The checkpoint to resume from (epoch 0: none), and why later ones were passed over. */
  private resume: Checkpoint = { epoch: 0 };

  private constructor(
    readonly dir: string,
    readonly config: RunConfig,
    private lock: RunLock,
    /** Whether this process made the directory (a failed start then removes it, if nothing else is in it). */
    private made: boolean,
    readonly keepCheckpoints: number,
  ) {}

  /** A new run in `dir` (made if missing), which must not already hold one. */
  static create(dir: string, config: RunConfig, keepCheckpoints = defaultKeepCheckpoints): RunDir {
    return RunDir.start(dir, config, keepCheckpoints, makeDirs(dir));
  }

  /**
   * A new run in a directory of its own under `parent`, named after the time: made exclusively
   * (two runs started in the same second get `NAME` and `NAME-2`).
   */
  static createNamed(parent: string, config: RunConfig, keepCheckpoints = defaultKeepCheckpoints): RunDir {
    makeDirs(parent);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    for (let i = 1; ; i++) {
      const dir = join(parent, i === 1 ? stamp : `${stamp}-${i}`);
      try {
        mkdirSync(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw fileError(e, dir, 'creating');
      }
      return RunDir.start(dir, config, keepCheckpoints, true);
    }
  }

  private static start(dir: string, config: RunConfig, keepCheckpoints: number, made: boolean): RunDir {
    // The directory may be another process's by now: nothing is removed until the lock is ours.
    const lock = lockRunDir(dir);
    // Under the lock: of two runs started into one directory, the second sees the first's config.
    if (existsSync(join(dir, 'config.json'))) {
      lock.release();
      throw new Error(`${dir}: already holds a run; continue it with --resume ${dir}, or choose another --out`);
    }
    const run = new RunDir(dir, config, lock, made, keepCheckpoints);
    try {
      removeTemporaries(dir);
      const versions = { node: process.version, backprop: version };
      writeFileAtomic(join(dir, 'config.json'), JSON.stringify({ config, seed: config.seed, keepCheckpoints, versions, started: new Date().toISOString() }, null, 2) + '\n');
    } catch (e) {
      run.discardIfEmpty();
      throw e;
    }
    return run;
  }

  /** An existing run, locked, with its config, the checkpoint to resume from and the metrics up to it. */
  static open(dir: string, keepCheckpoints?: number): RunDir {
    const path = join(dir, 'config.json');
    if (!existsSync(path)) throw new Error(`${dir}: no run here (no config.json); start one with backprop train --out ${dir}`);
    const lock = lockRunDir(dir);
    try {
      const saved = readJson(path) as { config?: unknown; keepCheckpoints?: unknown } | null;
      const config = validateConfig(saved?.config, path);
      const keep = keepCheckpoints ?? (Number.isInteger(saved?.keepCheckpoints) ? (saved!.keepCheckpoints as number) : defaultKeepCheckpoints);
      const run = new RunDir(dir, config, lock, false, keep);
      // A process killed while writing leaves only its temporary file: drop it.
      removeTemporaries(dir);
      const metricsPath = join(dir, 'metrics.jsonl');
      const metrics = existsSync(metricsPath) ? readMetrics(metricsPath) : [];
      // An epoch trained but not yet evaluated when the run stopped is evaluated on resume, from its checkpoint.
      const logged = new Set(metrics.filter((m) => m.type === 'epoch').map((m) => m.epoch));
      const unevaluated = metrics.filter((m) => m.type === 'iterations' && !m.partial && !logged.has(m.epoch)).map((m) => m.epoch);
      run.resume = lastValidCheckpoint(dir, unevaluated);
      run.metrics = metrics.filter((l) => l.epoch <= run.resume.epoch && !l.partial);
      return run;
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  get isComplete(): boolean {
    return existsSync(join(this.dir, 'summary.json'));
  }

  /** The epoch the run continues after (0: from the start). */
  get resumeEpoch(): number {
    return this.resume.epoch;
  }

  /** One line saying which checkpoints were damaged and passed over, if any. */
  get skippedCheckpoints(): string | undefined {
    return this.resume.skipped;
  }

  /**
   * The training state: fresh, or restored from the checkpoint to resume from. A run of a model
   * file needs `model`, the file loaded (and checked against the config's SHA-256).
   */
  state(model?: ModelFile): TrainState {
    const config = this.config;
    let state: TrainState;
    if (config.model === undefined) state = startState(config);
    else if (!model) throw new Error(`${this.dir}: the run trains ${config.model.file}, which was not loaded`);
    else state = startState(config, (rng) => new ModelNetwork(model, rng, { init: config.init }));
    const { epoch, saved } = this.resume;
    if (!saved) return state;
    const { metadata } = saved;
    const extra = restoreNetwork(state.net, saved, join(this.dir, checkpointName(epoch)));
    state.optimizer.state().forEach((buffer, i) => {
      const kept = extra.get(`optimizer.${i}`);
      if (!kept || kept.length !== buffer.length) throw new Error(`${this.dir}: checkpoint of epoch ${epoch} lacks optimizer state ${i}`);
      buffer.set(kept);
    });
    return { ...state, rng: Rng.fromState(JSON.parse(metadata.rng)), epoch, iteration: Number(metadata.iteration) };
  }

  /** The network after `epoch`, from its checkpoint (for an epoch to evaluate on resume). */
  networkAt(epoch: number, model?: ModelFile): Network {
    if (epoch === this.resume.epoch) return this.state(model).net;
    const config = this.config;
    const net = config.model === undefined ? startState(config).net : startState(config, (rng) => new ModelNetwork(model!, rng, { init: config.init })).net;
    const path = join(this.dir, checkpointName(epoch));
    restoreNetwork(net, readTensorFile(path), path);
    return net;
  }

  /** The epochs up to the resume point that were trained and checkpointed but whose evaluation was never logged. */
  get unevaluatedEpochs(): number[] {
    const logged = new Set(this.epochLines().map((m) => m.epoch));
    return this.metrics.filter((m) => m.type === 'iterations' && !logged.has(m.epoch)).map((m) => m.epoch);
  }

  /** What the log holds of an epoch's training (its iterations line), for the evaluation of an epoch left unevaluated. */
  trainedEpoch(epoch: number): TrainedEpoch {
    const line = this.metrics.find((m) => m.type === 'iterations' && m.epoch === epoch);
    const { meanIterationLoss, lr, seconds } = (line ?? {}) as Partial<TrainedEpoch>;
    if (typeof meanIterationLoss !== 'number' || typeof lr !== 'number') throw new Error(`${this.dir}/metrics.jsonl: epoch ${epoch} was not evaluated and its iterations line lacks its mean loss and learning rate; start the run again in another --out`);
    return { epoch, meanIterationLoss, lr, seconds: seconds ?? 0 };
  }

  /**
   * The state after an epoch's training, saved before its evaluation (which may take a while, in a
   * second thread): its iteration losses in the log, then its checkpoint. A crash between the two
   * leaves the log ahead of the last checkpoint, which `open` drops, never a checkpoint whose
   * iterations the log lacks; a crash before its evaluation is logged leaves it to `--resume`.
   */
  endTraining(trained: TrainedEpoch, losses: number[], state: TrainState): void {
    const first = state.iteration - losses.length + 1;
    this.metrics.push({
      type: 'iterations', epoch: trained.epoch, first, losses: losses.map((l) => Number(l.toPrecision(6))),
      meanIterationLoss: trained.meanIterationLoss, lr: trained.lr, seconds: trained.seconds,
    });
    this.writeMetrics();
    const extra = Object.fromEntries(state.optimizer.state().map((b, i) => [`optimizer.${i}`, b]));
    // The best validation loss so far (early stopping counts from it) is not in it: it is in the log (bestValidation).
    const progress = { epoch: state.epoch, iteration: state.iteration, rng: state.rng.state() };
    saveModel(join(this.dir, checkpointName(trained.epoch)), state.net, { config: this.config, ...progress }, extra);
    this.dropOldCheckpoints();
  }

  /** Logs an epoch's evaluation, after its iterations line; returns the line. */
  logEpoch(stats: EpochStats): MetricsLine {
    const at = this.metrics.findIndex((m) => m.type === 'iterations' && m.epoch === stats.epoch);
    const iterations = this.metrics[at] as MetricsLine & { first: number; losses: number[] };
    const line: MetricsLine = {
      type: 'epoch', epoch: stats.epoch, iteration: iterations.first + iterations.losses.length - 1, meanIterationLoss: stats.meanIterationLoss,
      trainAccuracy: stats.train.accuracy, trainLoss: stats.train.loss, testAccuracy: stats.test.accuracy, testLoss: stats.test.loss,
      ...(stats.validation && { validationAccuracy: stats.validation.accuracy, validationLoss: stats.validation.loss }),
      lr: stats.lr, seconds: stats.seconds,
    };
    this.metrics.splice(at + 1, 0, line);
    this.writeMetrics();
    this.dropOldCheckpoints();
    return line;
  }

  /** The epoch of the lowest validation loss logged so far (the first, on a tie), and that loss. */
  bestValidation(): TrainState['best'] {
    let best: TrainState['best'];
    for (const m of this.epochLines()) if (typeof m.validationLoss === 'number' && m.validationLoss < (best?.loss ?? Infinity)) best = { epoch: m.epoch, loss: m.validationLoss };
    return best;
  }

  epochLines(): MetricsLine[] {
    return this.metrics.filter((m) => m.type === 'epoch');
  }

  private writeMetrics(): void {
    writeFileAtomic(join(this.dir, 'metrics.jsonl'), this.metrics.map((m) => JSON.stringify(m)).join('\n') + '\n');
  }

  /**
   * Drops the checkpoints past `keepCheckpoints`, once the newest is whole on disk; never one of an
   * epoch whose evaluation is not yet logged (a resume would need it to evaluate that epoch).
   */
  private dropOldCheckpoints(): void {
    const epochs = checkpointEpochs(this.dir);
    const logged = new Set(this.epochLines().map((m) => m.epoch));
    for (const epoch of epochs) if (epoch <= epochs[0] - this.keepCheckpoints && logged.has(epoch)) rmSync(join(this.dir, checkpointName(epoch)), { force: true });
  }

  /** Ends the run; `partial` holds the losses of an epoch cut short (a diverging run), kept in the log. */
  finish(state: TrainState, summary: Record<string, unknown>, partial: number[] = []): void {
    if (partial.length) {
      this.metrics.push({ type: 'iterations', epoch: state.epoch + 1, first: state.iteration - partial.length + 1, losses: partial, partial: true });
      this.writeMetrics();
    }
    saveModel(join(this.dir, 'model.safetensors'), state.net, { config: this.config });
    writeFileAtomic(join(this.dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  }

  /** Whether an epoch has been completed and checkpointed. */
  get hasEpoch(): boolean {
    return checkpointEpochs(this.dir).length > 0;
  }

  /**
   * After a failed start (nothing trained): removes what this run wrote, and the directory itself
   * if this run made it, so that the same command can be run again. A run with a completed epoch is kept.
   */
  discardIfEmpty(): boolean {
    if (this.hasEpoch || this.isComplete) return false;
    for (const f of startFiles) rmSync(join(this.dir, f), { force: true });
    removeTemporaries(this.dir);
    this.release();
    if (this.made) {
      try {
        rmdirSync(this.dir); // only if nothing else is in it
      } catch {
        // a file of someone else's: leave the directory
      }
    }
    return true;
  }

  /** Lets another process write this directory. */
  release(): void {
    this.lock.release();
  }
}

/** Makes `dir` and its missing parents; true when `dir` itself was made. Errors say why (read-only, not ENOENT). */
export function makeDirs(dir: string): boolean {
  if (existsSync(dir)) return false;
  const parent = dirname(dir);
  if (parent !== dir) makeDirs(parent);
  // One level at a time: a recursive mkdir reports ENOENT where the real cause is a read-only parent.
  try {
    mkdirSync(dir);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw fileError(e, dir, 'creating');
  }
}

function checkpointEpochs(dir: string): number[] {
  return readdirSync(dir)
    .map((f) => /^checkpoint-epoch-(\d+)\.safetensors$/.exec(f))
    .filter((m) => m !== null)
    .map((m) => Number(m![1]))
    .sort((a, b) => b - a);
}

/** The checkpoint a run resumes from: its epoch (0: none), its tensors, and why later ones were passed over. */
interface Checkpoint {
  epoch: number;
  saved?: ReturnType<typeof readTensorFile>;
  skipped?: string;
}

/**
 * The last checkpoint that reads and matches its checksum, and after which no unevaluated epoch
 * lacks a valid checkpoint of its own (to be evaluated from); the damaged ones after it are named.
 */
function lastValidCheckpoint(dir: string, unevaluated: number[]): Checkpoint {
  const epochs = checkpointEpochs(dir);
  const read = new Map<number, ReturnType<typeof readTensorFile> | Error>();
  const readCheckpoint = (epoch: number) => {
    if (!read.has(epoch)) {
      try {
        read.set(epoch, readTensorFile(join(dir, checkpointName(epoch))));
      } catch (e) {
        read.set(epoch, e as Error);
      }
    }
    return read.get(epoch)!;
  };
  const damaged: string[] = [];
  let reason = '';
  for (const epoch of epochs) {
    const saved = readCheckpoint(epoch);
    // An epoch before this one that was never evaluated is evaluated on resume from its own checkpoint.
    const lost = unevaluated.find((e) => e < epoch && (!epochs.includes(e) || readCheckpoint(e) instanceof Error));
    if (!(saved instanceof Error) && lost === undefined) {
      const skipped = damaged.length ? `${damaged.join(', ')} ${damaged.length > 1 ? 'are' : 'is'} damaged (${reason}); resuming from epoch ${epoch}` : undefined;
      return { epoch, saved, skipped };
    }
    damaged.push(checkpointName(epoch));
    reason ||= saved instanceof Error ? saved.message.replace(/^.*?: (not a valid model file: )?/, '') : `epoch ${lost} was never evaluated and its checkpoint is unreadable`;
  }
  return { epoch: 0, skipped: damaged.length ? `${damaged.join(', ')} ${damaged.length > 1 ? 'are' : 'is'} damaged (${reason}); starting again from epoch 1` : undefined };
}

function removeTemporaries(dir: string): void {
  for (const f of readdirSync(dir)) if (/\.tmp-\d+$/.test(f)) rmSync(join(dir, f), { force: true });
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw fileError(e, path, 'reading');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: damaged, not valid JSON (${(e as Error).message}); restore it, or start the run again in another --out`);
  }
}

function readMetrics(path: string): MetricsLine[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw fileError(e, path, 'reading');
  }
  return text.split('\n').flatMap((line, i) => {
    if (!line) return [];
    let m: MetricsLine | undefined;
    try {
      m = JSON.parse(line);
    } catch {
      // reported below
    }
    if (typeof m !== 'object' || m === null || !Number.isInteger(m.epoch)) {
      throw new Error(`${path}:${i + 1}: damaged, not a line of metrics; restore the file, or start the run again in another --out`);
    }
    return [m];
  });
}
