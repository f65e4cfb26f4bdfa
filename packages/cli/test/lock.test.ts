// The run directory's lock: who holds it, and taking over the lock of a process that is gone.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockRunDir } from '../src/run/lock.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A lock as a process with this pid leaves it (with its owner file, or without when killed in between). */
function leaveLock(d: string, pid: number | undefined, more: { host?: string; start?: number } = {}): void {
  mkdirSync(join(d, '.lock'), { recursive: true });
  if (pid !== undefined) writeFileSync(join(d, '.lock-owner'), JSON.stringify({ pid, host: hostname(), lock: statSync(join(d, '.lock')).ino, ...more }));
}
const ownerPid = (d: string) => JSON.parse(readFileSync(join(d, '.lock-owner'), 'utf8')).pid;

describe('lockRunDir', () => {
  it('takes over at once the lock of a process that is gone, and leaves nothing behind on release', () => {
    const d = join(dir, 'dead');
    mkdirSync(d);
    const gone = spawnSync('true').pid!; // ran, exited and was reaped
    leaveLock(d, gone);
    const t0 = performance.now();
    const lock = lockRunDir(d);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(ownerPid(d)).toBe(process.pid);
    lock.release();
    expect(readdirSync(d)).toEqual([]);
  });

  it('refuses a lock whose holder runs, naming its pid', async () => {
    const d = join(dir, 'live');
    mkdirSync(d);
    const holder = spawn('sleep', ['30']);
    try {
      leaveLock(d, holder.pid);
      expect(() => lockRunDir(d)).toThrow(`${d}: in use by another backprop process (pid ${holder.pid}); wait for it to finish or stop it, then try again`);
      expect(ownerPid(d)).toBe(holder.pid);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.on('exit', resolve));
    }
    // Once it is gone, the lock is this process's.
    lockRunDir(d).release();
  });

  it('takes over at once the lock of a pid now reused by another process (its start time differs)', async () => {
    const d = join(dir, 'reused');
    mkdirSync(d);
    const other = spawn('sleep', ['30']);
    try {
      leaveLock(d, other.pid, { start: 1 }); // the holder started at tick 1 after boot: not this sleep
      const lock = lockRunDir(d);
      expect(ownerPid(d)).toBe(process.pid);
      lock.release();
    } finally {
      other.kill('SIGKILL');
      await new Promise((resolve) => other.on('exit', resolve));
    }
  });

  it('judges a holder on another host by how long its lock has gone unrefreshed (30 s)', () => {
    const d = join(dir, 'elsewhere');
    mkdirSync(d);
    leaveLock(d, 1, { host: 'elsewhere' });
    expect(() => lockRunDir(d)).toThrow(`${d}: in use by another backprop process (pid 1 on elsewhere); wait for it to finish or stop it, then try again`);
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(d, '.lock'), old, old);
    const lock = lockRunDir(d);
    expect(ownerPid(d)).toBe(process.pid);
    lock.release();
  });

  it('takes over a lock that names no holder (killed between making it and naming itself) after a second', () => {
    const d = join(dir, 'unnamed');
    mkdirSync(d);
    leaveLock(d, undefined);
    const t0 = performance.now();
    const lock = lockRunDir(d);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(ownerPid(d)).toBe(process.pid);
    lock.release();
    expect(existsSync(join(d, '.lock'))).toBe(false);
  });
});
