// Faults a run directory survives: a full disk, a damaged checkpoint, kill -9 at random points,
// two writers at once, a failed start; and errors that name the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMnistDir, loadModel } from '@backprop/mlp';
import { backprop, interruptAfterFirstEpoch, mountTmpfs, start, waitFor, weightsOf } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-rundir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sameWeights = (a: string, b: string) => Buffer.compare(weightsOf(join(a, 'model.safetensors')), weightsOf(join(b, 'model.safetensors'))) === 0;
const listing = (d: string) => readdirSync(d).sort();
const epochsLogged = (d: string) =>
  readFileSync(join(d, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((m) => m.type === 'epoch')
    .map((m) => m.epoch);
const flipOneBit = (path: string) => {
  const bytes = readFileSync(path);
  bytes[bytes.length - 1000] ^= 0x01; // one bit of one weight: still a well-formed file
  writeFileSync(path, bytes);
};

const tiny = ['--layers', '784,24,10', '--init', 'xavier', '--subset', '1200', '--quiet'];
/** A run of a few seconds, long enough for a second process to find it running. */
const longer = ['--layers', '784,128,10', '--init', 'xavier', '--subset', '20000', '--epochs', '3', '--quiet'];
const whole = join(dir, 'whole');
let lockedMs = 0; // how long that run holds its directory here: from its lock to its end
beforeAll(async () => {
  const run = start(['train', ...longer, '--out', whole]);
  await waitFor(() => existsSync(join(whole, '.lock-owner')), 60_000);
  const t0 = Date.now();
  expect((await run.finished).code).toBe(0);
  lockedMs = Date.now() - t0;
});

describe('a full disk', () => {
  it('names the file, leaves only whole files, removes a run with no epoch, and --resume continues once there is space', () => {
    const disk = mountTmpfs('3m');
    if ('error' in disk) {
      // writeFileAtomic's own test (packages/mlp/test/files.test.ts) makes the same ENOSPC with an injected write.
      console.warn(`rundir.test.ts: ${disk.error}: the full-disk test on a real small disk did not run`);
      expect(process.env.CI, 'CI runs as root: the full-disk test must run there').not.toBe('true');
      return;
    }
    try {
      // ~0.95 MB a checkpoint: the fourth does not fit in 3 MB.
      const big = ['--layers', '784,300,10', '--init', 'xavier', '--subset', '600', '--epochs', '5', '--quiet'];
      const reference = join(dir, 'whole-big');
      expect(backprop(['train', ...big, '--out', reference]).code).toBe(0);
      const x = join(disk.dir, 'x');
      const full = backprop(['train', ...big, '--out', x]);
      expect(full.code).toBe(2);
      expect(full.stderr).toBe(
        `backprop: no space left on device writing ${x}/checkpoint-epoch-004.safetensors; free some space, then continue with: backprop train --resume ${x}\n`,
      );
      // Whole files only, under their final names: each checkpoint loads and matches its checksum.
      expect(listing(x)).toEqual([
        'checkpoint-epoch-001.safetensors',
        'checkpoint-epoch-002.safetensors',
        'checkpoint-epoch-003.safetensors',
        'config.json',
        'metrics.jsonl',
      ]);
      for (const epoch of [1, 2, 3]) expect(loadModel(join(x, `checkpoint-epoch-00${epoch}.safetensors`)).metadata.epoch).toBe(String(epoch));
      // A run started on the full disk fails before its first epoch: nothing of it is left to block a rerun.
      const y = join(disk.dir, 'y');
      const none = backprop(['train', ...big, '--out', y]);
      expect(none.code).toBe(2);
      expect(none.stderr).toBe(
        `backprop: no space left on device writing ${y}/checkpoint-epoch-001.safetensors; nothing was trained and the run directory is removed: free some space and start again\n`,
      );
      expect(existsSync(y)).toBe(false);
      // With space again: exactly the weights of the uninterrupted run.
      disk.remount('8m');
      const resumed = backprop(['train', '--resume', x, '--quiet']);
      expect(resumed.stderr).toBe(`resuming ${x} after epoch 3 of 5\n`);
      expect(resumed.code).toBe(0);
      expect(sameWeights(x, reference)).toBe(true);
    } finally {
      disk.unmount();
    }
  });
});

describe('--resume', () => {
  it('passes over a damaged last checkpoint, says so in one line, and ends with the weights of an uninterrupted run', () => {
    const d = join(dir, 'damaged');
    expect(backprop(['train', ...tiny, '--epochs', '5', '--out', d]).code).toBe(0);
    const finished = weightsOf(join(d, 'model.safetensors'));
    // The checkpoints of the last 3 epochs are kept (--keep-checkpoints' default).
    expect(listing(d).filter((f) => f.startsWith('checkpoint-'))).toEqual([
      'checkpoint-epoch-003.safetensors',
      'checkpoint-epoch-004.safetensors',
      'checkpoint-epoch-005.safetensors',
    ]);
    // As if killed after epoch 5's checkpoint, which then got damaged.
    rmSync(join(d, 'summary.json'));
    rmSync(join(d, 'model.safetensors'));
    flipOneBit(join(d, 'checkpoint-epoch-005.safetensors'));
    const r = backprop(['train', '--resume', d, '--quiet']);
    expect(r.stderr).toBe(
      `${d}: checkpoint-epoch-005.safetensors is damaged (checksum mismatch: its data does not match the SHA-256 in its header); resuming from epoch 4\nresuming ${d} after epoch 4 of 5\n`,
    );
    expect(r.code).toBe(0);
    expect(Buffer.compare(weightsOf(join(d, 'model.safetensors')), finished)).toBe(0);
  });

  it('kill -9 at random points: each restart goes on, and the run ends with the weights of an uninterrupted run', async () => {
    const seed = Number(process.env.KILL_SEED ?? Date.now() % 100_000);
    console.log(`kill -9 delays drawn with KILL_SEED=${seed}`);
    let s = seed;
    const random = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const out = join(dir, 'killed');
    const seen: string[] = [];
    // A run whose config.json was never written is started again; one whose config.json was, resumed.
    const next = () => (existsSync(join(out, 'config.json')) ? ['train', '--resume', out, '--quiet'] : ['train', ...longer, '--out', out]);
    for (let k = 0; k < 3 && !existsSync(join(out, 'summary.json')); k++) {
      const args = next();
      const run = start(args);
      // Anywhere from the moment it locks its directory (before its config.json) to the end of the run.
      const delay = Math.round(random() * lockedMs);
      await waitFor(() => existsSync(join(out, '.lock-owner')) || run.child.exitCode !== null, 60_000);
      const timer = setTimeout(() => run.child.kill('SIGKILL'), delay);
      const end = await run.finished;
      clearTimeout(timer);
      seen.push(
        `${args[1]} killed ${delay} ms after it locked (of ${lockedMs}): ${end.signal ?? `exit ${end.code}`}, ${existsSync(join(out, 'metrics.jsonl')) ? `epochs ${epochsLogged(out).join(',')} logged` : existsSync(join(out, 'config.json')) ? 'no epoch' : 'no config.json'}`,
      );
      if (end.signal === null) expect([end.code, end.stderr]).toEqual([0, expect.not.stringContaining('backprop:')]);
    }
    console.log(seen.join('\n'));
    if (!existsSync(join(out, 'summary.json'))) expect(backprop(next()).code).toBe(0);
    expect(sameWeights(out, whole)).toBe(true);
    expect(epochsLogged(out)).toEqual([1, 2, 3]);
  });
});

describe('one writer per run directory', () => {
  it('two train --out X at once: one trains, the other exits naming its pid, and X holds one run', async () => {
    const p = join(dir, 'parallel');
    const a = start(['train', ...longer, '--seed', '1', '--out', p]),
      b = start(['train', ...longer, '--seed', '2', '--out', p]);
    const [ra, rb] = await Promise.all([a.finished, b.finished]);
    expect([ra.code, rb.code].sort()).toEqual([0, 2]);
    const [winner, loser, seed] = ra.code === 0 ? [a, rb, 1] : [b, ra, 2];
    expect(loser.stderr).toBe(`backprop: ${p}: in use by another backprop process (pid ${winner.pid}); wait for it to finish or stop it, then try again\n`);
    expect(JSON.parse(readFileSync(join(p, 'config.json'), 'utf8')).seed).toBe(seed);
    expect(epochsLogged(p)).toEqual([1, 2, 3]);
    expect(listing(p)).toEqual([
      'checkpoint-epoch-001.safetensors',
      'checkpoint-epoch-002.safetensors',
      'checkpoint-epoch-003.safetensors',
      'config.json',
      'metrics.jsonl',
      'model.safetensors',
      'summary.json',
    ]);
  });

  it('two --resume X at once: one goes on, the other exits naming its pid; the run ends with the weights of an uninterrupted run', async () => {
    const r = join(dir, 'resumed-twice');
    await interruptAfterFirstEpoch(longer, r, 'SIGKILL');
    expect(existsSync(join(r, 'summary.json'))).toBe(false);
    const a = start(['train', '--resume', r, '--quiet']),
      b = start(['train', '--resume', r, '--quiet']);
    const [ra, rb] = await Promise.all([a.finished, b.finished]);
    expect([ra.code, rb.code].sort()).toEqual([0, 2]);
    const [winner, loser] = ra.code === 0 ? [a, rb] : [b, ra];
    expect(loser.stderr).toBe(`backprop: ${r}: in use by another backprop process (pid ${winner.pid}); wait for it to finish or stop it, then try again\n`);
    expect(sameWeights(r, whole)).toBe(true);
    expect(epochsLogged(r)).toEqual([1, 2, 3]);
  });

  it('train without --out, twice at the same moment: two run directories of their own', async () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    const a = start(['train', ...tiny, '--epochs', '1'], { cwd }),
      b = start(['train', ...tiny, '--epochs', '1'], { cwd });
    const [ra, rb] = await Promise.all([a.finished, b.finished]);
    expect([ra.code, ra.stderr, rb.code, rb.stderr]).toEqual([0, '', 0, '']);
    const names = listing(join(cwd, 'runs'));
    expect(names).toHaveLength(2);
    for (const n of names) expect(existsSync(join(cwd, 'runs', n, 'summary.json'))).toBe(true);
  });
});

describe('a failed start', () => {
  it('leaves no run directory (data and settings are checked first), so the same --out works after', () => {
    const out = join(dir, 'failed');
    // MNIST with its test labels cut short.
    const data = join(dir, 'cut-data');
    mkdirSync(data);
    for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte']) symlinkSync(join(defaultMnistDir(), f), join(data, f));
    writeFileSync(join(data, 't10k-labels-idx1-ubyte'), readFileSync(join(defaultMnistDir(), 't10k-labels-idx1-ubyte')).subarray(0, 5000));
    const cases: [string[], RegExp][] = [
      [['--layers', '100,10'], /--layers 100,10: MNIST images have 784 pixels \(28x28\), so the first layer must be 784$/],
      [['--layers', '784,24,10', '--data', data], /t10k-labels-idx1-ubyte: file is truncated/],
    ];
    for (const [args, message] of cases) {
      const r = backprop(['train', ...args, '--subset', '1200', '--epochs', '1', '--quiet', '--out', out]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
    expect(backprop(['train', ...tiny, '--epochs', '2', '--out', out]).code).toBe(0);
  });
});

describe('--keep-checkpoints', () => {
  it('keeps the checkpoints of the last N epochs; 0 is refused', () => {
    const one = join(dir, 'keep-1');
    expect(backprop(['train', ...tiny, '--epochs', '3', '--keep-checkpoints', '1', '--out', one]).code).toBe(0);
    expect(listing(one).filter((f) => f.startsWith('checkpoint-'))).toEqual(['checkpoint-epoch-003.safetensors']);
    const none = backprop(['train', ...tiny, '--keep-checkpoints', '0', '--out', join(dir, 'keep-0')]);
    expect([none.code, none.stderr]).toEqual([2, 'backprop: --keep-checkpoints 0: expected a positive integer (the last checkpoint is always kept)\n']);
    expect(existsSync(join(dir, 'keep-0'))).toBe(false);
  });
});

describe('errors name the file', () => {
  it('a damaged config.json or metrics.jsonl on --resume', () => {
    const d = join(dir, 'damaged-files');
    expect(backprop(['train', ...tiny, '--epochs', '2', '--out', d]).code).toBe(0);
    rmSync(join(d, 'summary.json'));
    const config = readFileSync(join(d, 'config.json'));
    writeFileSync(join(d, 'config.json'), config.subarray(0, 40));
    const r1 = backprop(['train', '--resume', d]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(
      new RegExp(`^backprop: ${d}/config\\.json: damaged, not valid JSON \\(.+\\); restore it, or start the run again in another --out\\n$`),
    );
    writeFileSync(join(d, 'config.json'), config);
    const metrics = readFileSync(join(d, 'metrics.jsonl'), 'utf8').split('\n');
    writeFileSync(join(d, 'metrics.jsonl'), [metrics[0], metrics[1].slice(0, 30), ...metrics.slice(2)].join('\n'));
    const r2 = backprop(['train', '--resume', d]);
    expect([r2.code, r2.stderr]).toEqual([
      2,
      `backprop: ${d}/metrics.jsonl:2: damaged, not a line of metrics; restore the file, or start the run again in another --out\n`,
    ]);
  });

  it('a read-only --out says read-only, not ENOENT', () => {
    const ro = join(dir, 'read-only');
    mkdirSync(ro);
    // root writes through file modes: a read-only mount there; elsewhere a directory without write permission.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]).status).toBe(0);
    else chmodSync(ro, 0o555);
    try {
      const r = backprop(['train', ...tiny, '--epochs', '1', '--out', join(ro, 'runs', 'x')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        asRoot
          ? `backprop: read-only file system creating ${ro}/runs; choose another --out\n`
          : `backprop: permission denied (read-only for this user?) creating ${ro}/runs; choose another --out\n`,
      );
    } finally {
      if (asRoot) spawnSync('umount', [ro]);
      else chmodSync(ro, 0o755);
    }
  });
});

describe('progress when stderr is not a terminal', () => {
  it("prints its lines at fixed points of each epoch, whatever the speed, each epoch's result on stdout after them", async () => {
    // Three an epoch here (BACKPROP_PROGRESS_LINES); a run this small gets none by default.
    const run = start(['train', '--layers', '784,64,10', '--init', 'xavier', '--subset', '24000', '--epochs', '2', '--out', join(dir, 'progress')], {
      env: { BACKPROP_PROGRESS_LINES: '3' },
    });
    const end = await run.finished;
    expect(end.code).toBe(0);
    const progress = (e: number) =>
      [750, 1500, 2250].map((i) => expect.stringMatching(new RegExp(`^epoch ${e}/2: ${i}/3000 it, loss \\d\\.\\d{4}, left (\\d+m)?\\d+s$`)));
    expect(end.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^training 784-64-10 .* for 2 epochs on the first 24000 training images and the first 4000 test images -> /),
      ...progress(1),
      ...progress(2),
    ]);
    const result = (e: number) => expect.stringMatching(new RegExp(`^epoch ${e}/2: train \\d+\\.\\d\\d% \\(loss \\d\\.\\d{4}\\), test .*, \\d+\\.\\d s$`));
    expect(end.stdout.trim().split('\n')).toEqual([result(1), result(2), expect.stringMatching(/^done: /)]);
    // Without the setting: one line an epoch, whether the machine is quiet or busy.
    const quick = backprop(
      ['train', '--layers', '784,64,10', '--init', 'xavier', '--subset', '6000', '--epochs', '2', '--out', join(dir, 'progress-default')],
      { env: { BACKPROP_PROGRESS_LINES: '' } },
    );
    expect([quick.code, quick.stderr.trim().split('\n').length, quick.stdout.trim().split('\n').length]).toEqual([0, 1, 3]);
  });
});
