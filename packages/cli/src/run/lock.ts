/**
 * One writer per run directory. The lock is proper-lockfile's: `DIR/.lock`, a directory made
 * atomically by mkdir, its mtime refreshed while it is held, removed on release and on exit (Ctrl-C
 * included). proper-lockfile tells a stale lock only by an mtime left unrefreshed for `STALE_MS`;
 * a process killed with SIGKILL would block the directory that long, and a refused writer could
 * not say who holds it. So beside the lock, `DIR/.lock-owner` names the holder (pid, host, and
 * the lock's inode, so that an owner file left by an earlier lock is never taken for this one's):
 * a lock whose holder is no longer running is taken over at once, and the error for a live holder
 * names its pid.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { fileError, writeFileAtomic } from '@backprop/mlp';

/** A holder that has not refreshed its lock for this long is gone (on another host, or its pid reused). */
const STALE_MS = 30_000;

export interface RunLock {
  release(): void;
}

interface Owner {
  pid: number;
  host: string;
  lock: number;
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
    if (owner.host === hostname() && !isRunning(owner.pid)) {
      if (!takeOver(dir, (o) => typeof o === 'object' && o.pid === owner.pid && o.lock === owner.lock)) sleep(10);
      continue;
    }
    const where = owner.host === hostname() ? '' : ` on ${owner.host}`;
    throw new Error(`${dir}: in use by another backprop process (pid ${owner.pid}${where}); wait for it to finish or stop it, then try again`);
  }
  throw new Error(`${dir}: could not lock it (${join(dir, '.lock')} keeps changing hands); try again`);
}

/** The lock, or undefined when another process holds it. */
function tryLock(dir: string): RunLock | undefined {
  const lockPath = join(dir, '.lock'), ownerPath = join(dir, '.lock-owner');
  let unlock: () => void;
  try {
    unlock = lockfile.lockSync(dir, { lockfilePath: lockPath, realpath: false, stale: STALE_MS, onCompromised: (e) => lost(dir, e) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOCKED') return undefined;
    throw fileError(e, dir, 'locking');
  }
  let ino: number;
  try {
    ino = statSync(lockPath).ino;
    writeFileAtomic(ownerPath, JSON.stringify({ pid: process.pid, host: hostname(), lock: ino }) + '\n');
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
  return {
    release() {
      if (released) return;
      released = true;
      process.off('exit', forget);
      forget();
      unlock();
    },
  };
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

/** Whether a process with this pid runs (a zombie, killed but not yet reaped, does not). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // it exists, as another user's
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true; // no /proc: kill(pid, 0) is all we know
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
