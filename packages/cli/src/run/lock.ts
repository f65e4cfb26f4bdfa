/**
 * One writer per run directory. The lock is proper-lockfile's: `DIR/.lock`, a directory made
 * atomically by mkdir, its mtime refreshed while it is held, removed on release and on a normal exit
 * (Ctrl-C included; SIGTERM ends the process at once, leaving it to the dead-holder takeover below).
 * proper-lockfile tells a stale lock only by an mtime left unrefreshed: a process killed
 * with SIGKILL would block the directory that long, and a process stopped that long (SIGSTOP, a
 * laptop asleep) would lose its lock while alive. So beside the lock, `DIR/.lock-owner` names the
 * holder (pid, its start time, host, and the lock's inode, so that an owner file left by an earlier
 * lock is never taken for this one's), and staleness is ours to decide: on this host, a lock is
 * stale exactly when its holder no longer runs (taken over at once, however recently refreshed;
 * never while it runs, however long ago); only a holder on another host is judged by the mtime.
 * The error for a live holder names its pid. A holder checks that the lock is still its own before
 * every write (`verify`).
 */
import * as fs from 'node:fs';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { fileError, writeFileAtomic } from '@backprop/mlp';

/**
 * A holder on another host that has not refreshed its lock for this long is gone (the tests shorten
 * it through BACKPROP_LOCK_STALE_MS). A holder on this host is asked directly whether it runs.
 */
const STALE_MS = Number(process.env.BACKPROP_LOCK_STALE_MS) >= 2000 ? Number(process.env.BACKPROP_LOCK_STALE_MS) : 30_000;
/** proper-lockfile must never take a lock over by its mtime alone: we decide (see above). */
const NEVER = 2 ** 52;

export interface RunLock {
  /** Throws one line when the lock is no longer this process's (taken over while it was stopped): call before every write. */
  verify(): void;
  release(): void;
}

interface Owner {
  pid: number;
  host: string;
  lock: number;
  /** The holder's start time (clock ticks since boot, from /proc): a reused pid is another process. */
  start?: number;
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Locks `dir` (which must exist) for this process, or says which process holds it. */
export function lockRunDir(dir: string): RunLock {
  let unnamed: { lock: number; since: number } | undefined;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const lock = tryLock(dir);
    if (lock) return lock;
    const owner = readOwner(dir);
    if (owner === 'free') continue; // released meanwhile
    if (typeof owner === 'number') {
      // Its holder writes its name right after making the lock; one that has not for a second
      // was killed in between.
      if (unnamed?.lock !== owner) unnamed = { lock: owner, since: Date.now() };
      if (Date.now() - unnamed.since < 1000 || !takeOver(dir, (o) => o === owner)) sleep(10);
      continue;
    }
    const same = (o: Owner | 'free' | number) => typeof o === 'object' && o.pid === owner.pid && o.lock === owner.lock;
    if (owner.host === hostname() ? !isRunning(owner.pid, owner.start) : Date.now() - lockAge(dir) > STALE_MS) {
      if (!takeOver(dir, (o) => same(o) && (owner.host === hostname() || Date.now() - lockAge(dir) > STALE_MS))) sleep(10);
      continue;
    }
    const where = owner.host === hostname() ? '' : ` on ${owner.host}`;
    throw new Error(`${dir}: in use by another backprop process (pid ${owner.pid}${where}); wait for it to finish or stop it, then try again`);
  }
  throw new Error(`${dir}: could not lock it (${join(dir, '.lock')} keeps changing hands); try again`);
}

/** The lock, or undefined when another process holds it. */
function tryLock(dir: string): RunLock | undefined {
  const lockPath = join(dir, '.lock'),
    ownerPath = join(dir, '.lock-owner');
  let unlock: () => void;
  try {
    const update = Math.max(1000, Math.floor(STALE_MS / 3));
    unlock = lockfile.lockSync(dir, { lockfilePath: lockPath, realpath: false, stale: NEVER, update, onCompromised: (e) => lost(dir, e) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOCKED') return undefined;
    throw fileError(e, dir, 'locking');
  }
  let ino: number;
  try {
    ino = statSync(lockPath).ino;
    const start = startTime(process.pid);
    writeFileAtomic(ownerPath, JSON.stringify({ pid: process.pid, host: hostname(), lock: ino, ...(start !== undefined && { start }) }) + '\n');
  } catch (e) {
    unlock();
    throw e;
  }
  // proper-lockfile removes its lock on exit; the owner file goes with it (unless it names another by then).
  const forget = () => {
    try {
      const owner = JSON.parse(readFileSync(ownerPath, 'utf8')) as Owner;
      if (owner.pid === process.pid && owner.lock === ino) rmSync(ownerPath, { force: true });
    } catch {
      // gone already
    }
  };
  process.on('exit', forget);
  let released = false;
  const holder = (): string | undefined => {
    const owner = readOwner(dir);
    if (typeof owner === 'object' && owner.pid === process.pid && owner.lock === ino) return undefined;
    if (owner === 'free') return 'it was removed';
    return typeof owner === 'number' ? 'another process has made it' : `pid ${owner.pid}${owner.host === hostname() ? '' : ` on ${owner.host}`} holds it now`;
  };
  return {
    verify() {
      const now = released ? 'it was released' : holder();
      if (now) throw new Error(`${dir}: lost the lock of this run directory (${now}); stopped before writing, so that no two processes write it`);
    },
    release() {
      if (released) return;
      released = true;
      process.off('exit', forget);
      if (holder() === undefined) {
        forget();
        unlock();
      } else {
        // Another process's lock now: stop refreshing ours without removing theirs.
        lockfile.unlockSync(dir, { lockfilePath: lockPath, realpath: false, fs: { ...fs, rmdirSync() {} } } as Parameters<typeof lockfile.unlockSync>[1]);
      }
    },
  };
}

/** When the lock was last refreshed (ms since the epoch); 0 when it is gone. */
function lockAge(dir: string): number {
  try {
    return statSync(join(dir, '.lock')).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * The lock's holder as its owner file names it; 'free' when there is no lock; the lock's inode
 * when the owner file does not (yet) name this lock's holder.
 */
function readOwner(dir: string): Owner | 'free' | number {
  let ino: number;
  try {
    ino = statSync(join(dir, '.lock')).ino;
  } catch {
    return 'free';
  }
  try {
    const owner = JSON.parse(readFileSync(join(dir, '.lock-owner'), 'utf8')) as Owner;
    return Number.isInteger(owner.pid) && owner.lock === ino ? owner : ino;
  } catch {
    return ino;
  }
}

/**
 * Whether a process with this pid runs (a zombie, killed but not yet reaped, does not), and is the
 * one that started at `start` (a pid reused by another process is not); a stopped process runs.
 */
export function isRunning(pid: number, start?: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false; // EPERM: it exists, as another user's
  }
  let fields: string[];
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return true; // no /proc: kill(pid, 0) is all we know
  }
  // fields[0] is the state (field 3 of proc(5)), fields[19] the start time (field 22).
  return fields[0] !== 'Z' && (start === undefined || Number(fields[19]) === start);
}

/** A process's start time in clock ticks since boot (undefined without /proc). */
function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isSafeInteger(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes the lock of a holder that is gone, if `stillGone` holds of it under a short lock of its
 * own: of two processes that find the same dead holder, one takes over and the other then sees
 * the new holder. False when another process is taking it over.
 */
function takeOver(dir: string, stillGone: (owner: Owner | 'free' | number) => boolean): boolean {
  let unlock: () => void;
  try {
    unlock = lockfile.lockSync(join(dir, '.lock'), { lockfilePath: join(dir, '.lock-takeover'), realpath: false, stale: 5_000 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOCKED') return false;
    throw fileError(e, dir, 'locking');
  }
  try {
    if (stillGone(readOwner(dir))) {
      rmSync(join(dir, '.lock-owner'), { force: true });
      rmSync(join(dir, '.lock'), { recursive: true, force: true });
    }
    return true;
  } finally {
    unlock();
  }
}

/** The lock was removed or refreshed by another process: stop before two processes write one directory. */
function lost(dir: string, e: Error): void {
  console.error(`backprop: ${dir}: lost the lock of this run directory (${e.message}); stopped, so that no two processes write it`);
  process.exit(1);
}
