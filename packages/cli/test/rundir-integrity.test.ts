// A run directory is the run's and only the run's: a run touches no file it did not create, keeps
// its lock while it lives (stopped included), and refuses a directory edited or mixed by hand.
import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMnistDir } from '@backprop/mlp';
import { readProgress } from '../src/experiments/runs.ts';
import { backprop, mountTmpfs, start, waitFor, weightsOf } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-integrity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const listing = (d: string) => readdirSync(d).sort();
const contents = (d: string) => Object.fromEntries(listing(d).map((f) => [f, statSync(join(d, f)).isFile() ? readFileSync(join(d, f), 'utf8') : 'dir']));
const epochsLogged = (d: string) =>
  readFileSync(join(d, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((m) => m.type === 'epoch')
    .map((m) => m.epoch);
const tiny = ['--layers', '784,24,10', '--init', 'xavier', '--subset', '1200', '--quiet'];
/** A run of a few seconds an epoch. */
const longer = ['--layers', '784,128,10', '--init', 'xavier', '--subset', '20000', '--epochs', '3', '--quiet'];

/** A finished run of `epochs`, made to look killed after its last checkpoint; returns its final weights. */
function killedAtEnd(d: string, epochs: number, extra: string[] = []): Buffer {
  expect(backprop(['train', ...tiny, '--epochs', String(epochs), ...extra, '--out', d]).code).toBe(0);
  const finished = weightsOf(join(d, 'model.safetensors'));
  rmSync(join(d, 'summary.json'));
  rmSync(join(d, 'model.safetensors'));
  return finished;
}

/**
 * Flips the lowest bit of a byte of the file's header: `offset` bytes from the first occurrence of
 * `text`, or (offset -1) the byte before the first comma after it.
 */
function flipInHeader(path: string, text: string, offset: number): void {
  const bytes = readFileSync(path);
  const at = bytes.indexOf(text);
  expect(at).toBeGreaterThan(8);
  const where = offset >= 0 ? at + offset : bytes.indexOf(',', at) - 1;
  bytes[where] ^= 0x01;
  writeFileSync(path, bytes);
}

describe('a run touches only files it created', () => {
  it("train --out DIR into a directory of the user's files is refused in one line before anything is written", () => {
    const d = join(dir, 'users');
    mkdirSync(d);
    writeFileSync(join(d, 'metrics.jsonl'), 'my own notes\n');
    writeFileSync(join(d, 'notes.tmp-42'), 'draft\n');
    const before = contents(d);
    const r = backprop(['train', ...tiny, '--epochs', '1', '--out', d]);
    expect([r.code, r.stderr]).toEqual([
      2,
      `backprop: ${d}: holds files that are not of a run (metrics.jsonl, notes.tmp-42); a run starts only in a new or empty directory: choose another --out\n`,
    ]);
    expect(contents(d)).toEqual(before);
  });

  it("a resume removes the temporaries a killed writer of the run left, and no file of the user's", () => {
    const d = join(dir, 'leftovers');
    killedAtEnd(d, 2);
    const gone = spawnSync('true').pid!; // a process that ran and is gone
    writeFileSync(join(d, `metrics.jsonl.tmp-${gone}`), 'half a write');
    writeFileSync(join(d, 'notes.tmp-42'), "the user's");
    writeFileSync(join(d, `notes.txt.tmp-${gone}`), "the user's too");
    const r = backprop(['train', '--resume', d, '--quiet']);
    expect(r.code).toBe(0);
    expect(listing(d).filter((f) => f.includes('.tmp-'))).toEqual([`notes.tmp-42`, `notes.txt.tmp-${gone}`]);
  });

  it('a full disk while locking (.lock-owner) or writing config.json removes what the run made, and says so truly', () => {
    const disk = mountTmpfs('1m');
    if ('error' in disk) {
      console.warn(`rundir-integrity.test.ts: ${disk.error}: the full-disk test did not run`);
      expect(process.env.CI, 'CI runs as root: the full-disk test must run there').not.toBe('true');
      return;
    }
    try {
      const empty = join(disk.dir, 'empty');
      mkdirSync(empty);
      // Fill the disk: directories take no space on a tmpfs, files do.
      spawnSync('dd', ['if=/dev/zero', `of=${join(disk.dir, 'filler')}`, 'bs=4096'], { encoding: 'utf8' });
      const made = join(disk.dir, 'new');
      const r1 = backprop(['train', ...tiny, '--epochs', '1', '--out', made]);
      expect([r1.code, r1.stderr]).toEqual([
        2,
        `backprop: no space left on device writing ${made}/.lock-owner; nothing was trained and the run directory is removed: free some space and start again\n`,
      ]);
      expect(existsSync(made)).toBe(false);
      // A directory of the user's (empty) stays, empty; the message does not claim it is removed.
      const r2 = backprop(['train', ...tiny, '--epochs', '1', '--out', empty]);
      expect([r2.code, r2.stderr]).toEqual([
        2,
        `backprop: no space left on device writing ${empty}/.lock-owner; nothing was trained and what the run wrote in ${empty} is removed: free some space and start again\n`,
      ]);
      expect(listing(empty)).toEqual([]);
    } finally {
      disk.unmount();
    }
  }, 60_000);
});

describe('the lock of a live process', () => {
  // A lock's staleness threshold of 2 s instead of 30 s, so that the test need not wait long.
  const env = { BACKPROP_LOCK_STALE_MS: '2000' };
  const lockAgeMs = (d: string) => Date.now() - statSync(join(d, '.lock')).mtimeMs;

  it('is kept however long the process is stopped (SIGSTOP); a --resume meanwhile is refused, and the run ends whole', async () => {
    const d = join(dir, 'stopped');
    const run = start(['train', ...longer, '--out', d], { env });
    expect(await waitFor(() => existsSync(join(d, 'checkpoint-epoch-001.safetensors')) || run.child.exitCode !== null, 120_000)).toBe(true);
    run.child.kill('SIGSTOP');
    try {
      // Stopped, it refreshes nothing: wait (however loaded the machine) until its lock is older than the threshold.
      expect(await waitFor(() => lockAgeMs(d) > 3000, 60_000)).toBe(true);
      const other = backprop(['train', '--resume', d, '--quiet'], { env });
      expect([other.code, other.stderr]).toEqual([
        2,
        `backprop: ${d}: in use by another backprop process (pid ${run.pid}); wait for it to finish or stop it, then try again\n`,
      ]);
    } finally {
      run.child.kill('SIGCONT');
    }
    const end = await run.finished;
    expect([end.code, end.stderr]).toEqual([0, '']);
    expect(epochsLogged(d)).toEqual([1, 2, 3]);
    expect(JSON.parse(readFileSync(join(d, 'summary.json'), 'utf8')).epochs).toBe(3);
  }, 180_000);

  it("a process whose lock was taken while it was stopped writes nothing more, and leaves the new holder's lock", async () => {
    const d = join(dir, 'taken');
    const run = start(['train', ...longer, '--out', d], { env });
    expect(await waitFor(() => existsSync(join(d, 'checkpoint-epoch-001.safetensors')) || run.child.exitCode !== null, 120_000)).toBe(true);
    run.child.kill('SIGSTOP');
    // Another host's process takes the lock over (its holder looked gone from there).
    rmSync(join(d, '.lock-owner'));
    rmdirSync(join(d, '.lock'));
    mkdirSync(join(d, '.lock'));
    const owner = JSON.stringify({ pid: 1, host: 'elsewhere', lock: statSync(join(d, '.lock')).ino }) + '\n';
    writeFileSync(join(d, '.lock-owner'), owner);
    const before = contents(d);
    run.child.kill('SIGCONT');
    const end = await run.finished;
    expect(end.code).not.toBe(0);
    expect(end.stderr).toMatch(new RegExp(`^backprop: ${d}: lost the lock of this run directory \\(.*\\); stopped`));
    expect(contents(d)).toEqual(before);
    expect(readFileSync(join(d, '.lock-owner'), 'utf8')).toBe(owner);
  }, 180_000);
});

describe('a hand-edited or mixed run directory', () => {
  it("a bit flipped in a checkpoint header's generator state: passed over, and the run ends with the uninterrupted run's weights", () => {
    const d = join(dir, 'rng-flipped');
    const finished = killedAtEnd(d, 4);
    rmSync(join(d, 'checkpoint-epoch-004.safetensors'));
    // As if killed after epoch 3: epoch 4 is trained again, from the generator's state in epoch 3's checkpoint.
    const log = readFileSync(join(d, 'metrics.jsonl'), 'utf8').trim().split('\n');
    writeFileSync(join(d, 'metrics.jsonl'), log.slice(0, 6).join('\n') + '\n');
    flipInHeader(join(d, 'checkpoint-epoch-003.safetensors'), '"rng":"[', -1); // the last digit of its first number: still a well-formed state
    const r = backprop(['train', '--resume', d, '--quiet']);
    expect(r.code).toBe(0);
    // (resumed from the flipped state, epoch 4 would shuffle otherwise and end with other weights)
    expect(Buffer.compare(weightsOf(join(d, 'model.safetensors')), finished)).toBe(0);
    expect(r.stderr).toBe(
      `${d}: checkpoint-epoch-003.safetensors is damaged (checksum mismatch: its header does not match the SHA-256 in it); resuming from epoch 2\nresuming ${d} after epoch 2 of 4\n`,
    );
  }, 60_000);

  it("a bit flipped in a checkpoint's tensor name: passed over as damaged, not blocking the resume", () => {
    const d = join(dir, 'name-flipped');
    const finished = killedAtEnd(d, 3);
    flipInHeader(join(d, 'checkpoint-epoch-003.safetensors'), '"layers.1.bias"', 10); // layers.1.bias -> layers.1.cias
    const r = backprop(['train', '--resume', d, '--quiet']);
    expect(r.stderr).toBe(
      `${d}: checkpoint-epoch-003.safetensors is damaged (checksum mismatch: its header does not match the SHA-256 in it); resuming from epoch 2\nresuming ${d} after epoch 2 of 3\n`,
    );
    expect(r.code).toBe(0);
    expect(Buffer.compare(weightsOf(join(d, 'model.safetensors')), finished)).toBe(0);
  }, 60_000);

  it('a checkpoint of another run copied in, one renamed, an edited config.json: refused, naming the file and what differs', () => {
    const d = join(dir, 'mixed'),
      other = join(dir, 'other');
    killedAtEnd(d, 3);
    killedAtEnd(other, 3, ['--seed', '2', '--lr', '0.05']);
    const checkpoint = join(d, 'checkpoint-epoch-003.safetensors');
    const own = readFileSync(checkpoint);
    copyFileSync(join(other, 'checkpoint-epoch-003.safetensors'), checkpoint);
    const r1 = backprop(['train', '--resume', d, '--quiet']);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toBe(
      `backprop: ${checkpoint}: was not trained with this run's settings (lr 0.05 there, 0.01 in config.json; seed 2 there, 1 in config.json): config.json was edited or the checkpoint is another run's; restore config.json or remove the checkpoint, then resume\n`,
    );
    writeFileSync(checkpoint, own);
    renameSync(checkpoint, join(d, 'checkpoint-epoch-009.safetensors'));
    const r2 = backprop(['train', '--resume', d, '--quiet']);
    expect([r2.code, r2.stderr]).toEqual([
      2,
      `backprop: ${d}/checkpoint-epoch-009.safetensors: holds the state after epoch 3, not 9 as its name says (renamed?); give it back its name or remove it, then resume\n`,
    ]);
    renameSync(join(d, 'checkpoint-epoch-009.safetensors'), checkpoint);
    const configPath = join(d, 'config.json'),
      config = readFileSync(configPath, 'utf8');
    writeFileSync(configPath, config.replace('"lr": 0.01', '"lr": 0.5'));
    const r3 = backprop(['train', '--resume', d, '--quiet']);
    expect([r3.code, r3.stderr]).toEqual([
      2,
      `backprop: ${checkpoint}: was not trained with this run's settings (lr 0.01 there, 0.5 in config.json): config.json was edited or the checkpoint is another run's; restore config.json or remove the checkpoint, then resume\n`,
    ]);
    writeFileSync(configPath, config);
    expect(backprop(['train', '--resume', d, '--quiet']).code).toBe(0);
  }, 60_000);

  it('training data changed since the run started: refused; a missing metrics.jsonl: refused; an older run directory: one line', () => {
    const data = join(dir, 'data');
    mkdirSync(data);
    for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'])
      copyFileSync(join(defaultMnistDir(), f), join(data, f));
    const d = join(dir, 'data-changed');
    killedAtEnd(d, 2, ['--data', data]);
    const labels = join(data, 'train-labels-idx1-ubyte'),
      original = readFileSync(labels);
    const changed = Buffer.from(original);
    changed[8 + 100] = (changed[8 + 100] + 1) % 10; // one label of the subset
    writeFileSync(labels, changed);
    const r1 = backprop(['train', '--resume', d, '--quiet']);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(
      new RegExp(
        `^backprop: ${d}: the training data \\(${data}\\) has changed since this run started \\(SHA-256 [0-9a-f]{12}\\.\\.\\., now [0-9a-f]{12}\\.\\.\\.\\); restore it to resume, or start a new run\\n$`,
      ),
    );
    writeFileSync(labels, original);
    const log = readFileSync(join(d, 'metrics.jsonl'));
    rmSync(join(d, 'metrics.jsonl'));
    const r2 = backprop(['train', '--resume', d, '--quiet']);
    expect([r2.code, r2.stderr]).toEqual([
      2,
      `backprop: ${d}/metrics.jsonl: missing, so the log of epochs 1-2 is lost (a checkpoint holds no losses); restore it, or start the run again in another --out\n`,
    ]);
    writeFileSync(join(d, 'metrics.jsonl'), log);
    const config = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
    const { runFormat: _, dataSha256: __, ...older } = config;
    writeFileSync(join(d, 'config.json'), JSON.stringify(older));
    const r3 = backprop(['train', '--resume', d, '--quiet']);
    expect([r3.code, r3.stderr]).toEqual([
      2,
      `backprop: ${d}: written by an older version of backprop (before checksummed checkpoint headers and the data's SHA-256), so it cannot be resumed safely; start the run again in another --out\n`,
    ]);
    writeFileSync(join(d, 'config.json'), JSON.stringify(config));
    expect(backprop(['train', '--resume', d, '--quiet']).code).toBe(0);
  }, 60_000);
});

describe("report's reading of metrics.jsonl", () => {
  it('refuses a number that is not one, and a value changed since the run wrote it, naming file and line', () => {
    const d = join(dir, 'reported');
    expect(backprop(['train', ...tiny, '--epochs', '2', '--out', d]).code).toBe(0);
    expect(readProgress(d).epochs.map((e) => e.epoch)).toEqual([1, 2]);
    const path = join(d, 'metrics.jsonl'),
      log = readFileSync(path, 'utf8');
    const lines = log.split('\n');
    const epoch2 = JSON.parse(lines[3]);
    writeFileSync(path, [...lines.slice(0, 3), JSON.stringify({ ...epoch2, testAccuracy: 'high' }), ...lines.slice(4)].join('\n'));
    expect(() => readProgress(d)).toThrow(
      `${path}:4: damaged, "testAccuracy" is "high", not a number; restore the file, or move the run away and run it again`,
    );
    writeFileSync(path, [...lines.slice(0, 3), JSON.stringify({ ...epoch2, testAccuracy: 0.99 }), ...lines.slice(4)].join('\n'));
    expect(() => readProgress(d)).toThrow(
      `${path}:4: changed since the run wrote it (summary.json records another checksum for this line); restore the file, or move the run away and run it again`,
    );
    writeFileSync(path, log);
    expect(readProgress(d).status).toBe('done');
  }, 60_000);
});

describe('a run that diverges on its first iteration', () => {
  it('says its metrics are in DIR, and they are (an empty log)', () => {
    const model = join(dir, 'nan.ts');
    writeFileSync(
      model,
      `export default {
  input: [784],
  outputs: 10,
  parameters: { W: { shape: [784, 10], init: 'zeros' }, b: { shape: [10], init: 'zeros' } },
  forward(t: any, p: any, X: any, ctx: any) {
    // scores NaN in training from the start (finite in evaluation, which the start's check refuses otherwise)
    const s = t.add(t.matmul(X, p.W), p.b);
    return ctx.training ? t.mul(s, Number.NaN) : s;
  },
};
`,
    );
    const d = join(dir, 'nan-run');
    const r = backprop(['train', '--model', model, '--subset', '600', '--epochs', '1', '--quiet', '--out', d]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^training diverged: the loss is NaN at epoch 1, iteration 1 .*; the metrics up to then are in ${d}\\n$`));
    expect(readFileSync(join(d, 'metrics.jsonl'), 'utf8')).toBe('');
  }, 60_000);
});
