// The experiment runner with --jobs: its children stop when it dies, Ctrl-C says how to go on,
// and a run directory (or the whole experiment directory) has one writer at a time.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backprop, hangLimit, isRunning, start, waitFor } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-runner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The pids that hold the run directories under `out`. */
const holders = (out: string) =>
  existsSync(out)
    ? readdirSync(out)
        .filter((d) => existsSync(join(out, d, '.lock-owner')))
        .map((d) => JSON.parse(readFileSync(join(out, d, '.lock-owner'), 'utf8')).pid as number)
    : [];

/** The child processes of `pid` (Linux). */
const childrenOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

describe('backprop experiment --jobs 2', () => {
  it('killed with SIGKILL, its children stop within seconds; while it ran, a second runner was refused naming its pid', async () => {
    const out = join(dir, 'killed');
    const args = ['experiment', 'depth', '--epochs', '3', '--subset', '20000', '--jobs', '2', '--out', out, '--quiet'];
    const runner = start(args);
    expect(await waitFor(() => childrenOf(runner.pid).length === 2, 60_000)).toBe(true);
    const children = childrenOf(runner.pid);
    const second = backprop(args);
    expect([second.code, second.stderr]).toEqual([
      2,
      `backprop: ${out}: in use by another backprop process (pid ${runner.pid}); wait for it to finish or stop it, then try again\n`,
    ]);
    expect(children.every(isRunning)).toBe(true);
    runner.child.kill('SIGKILL');
    const t0 = Date.now();
    expect(await waitFor(() => !children.some(isRunning), 5_000)).toBe(true);
    console.log(`children gone ${Date.now() - t0} ms after the runner was killed`);
    // They let go of their run directories on the way out (the runner's own lock, on `out`, is
    // taken over by the next runner: its pid is gone).
    expect(holders(out)).toEqual([]);
  });

  it('Ctrl-C prints no stack trace and one line saying to rerun the same command, which then finishes the experiment', async () => {
    const out = join(dir, 'interrupted');
    const args = ['experiment', 'depth', '--epochs', '2', '--subset', '1200', '--jobs', '2', '--out', out];
    // Its own process group, as a terminal's foreground job; Ctrl-C sends SIGINT to the whole group.
    const runner = start(args, { detached: true });
    const checkpointed = () => existsSync(out) && readdirSync(out).some((d) => existsSync(join(out, d, 'checkpoint-epoch-001.safetensors')));
    expect(await waitFor(checkpointed, hangLimit)).toBe(true);
    process.kill(-runner.pid, 'SIGINT');
    const end = await runner.finished;
    expect(end.code).toBe(130);
    expect(end.stderr).not.toMatch(/^\s+at |Error/m);
    const lines = end.stderr.trim().split('\n');
    expect(lines.filter((l) => /interrupt|resume|rerun/.test(l))).toEqual([
      `interrupted: the finished epochs of every run are kept; rerun the same command to continue: backprop ${args.join(' ')}`,
    ]);
    expect(lines.at(-1)).toBe(lines.find((l) => l.startsWith('interrupted')));
    const again = backprop(args);
    expect(again.stderr).toMatch(/\n[0-2] of 3 runs already complete; [1-3] to run on 2 processes\n/);
    expect(again.code).toBe(0);
    expect(readdirSync(join(out, 'figures'))).toHaveLength(5);
  });
});
