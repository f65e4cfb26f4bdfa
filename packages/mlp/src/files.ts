/** Writing files so that a crash or a full disk never leaves a half-written one. */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** The low-level write: like `fs.writeSync`, it may write fewer bytes than asked and returns how many. */
export type WriteFn = (fd: number, buffer: Uint8Array, offset: number, length: number) => number;

/**
 * Writes `data` to a temporary file beside `path`, checking that every byte was written, flushes it
 * to disk, then renames it over `path` (and flushes the directory, so that the rename itself
 * survives a power cut). On any error the temporary file is removed, the previous `path` is left
 * as it was, and the error names the file: `no space left on device writing runs/x/config.json`.
 * `write` replaces the low-level write (a test makes it fail the way a full disk does).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, { write = writeSync as WriteFn } = {}): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    // A write may be short (a disk filling up writes what fits, and only the next write fails).
    for (let done = 0; done < bytes.length; ) {
      const n = write(fd, bytes, done, bytes.length - done);
      if (!(n > 0)) throw Object.assign(new Error(`write returned ${n}`), { code: 'EIO' });
      done += n;
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw fileError(e, path);
  }
  syncDirectory(dirname(path));
}

/** Flushes a directory's entries (a rename) to disk; a file system that cannot is left to its own timing. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // EISDIR/EINVAL on systems that do not fsync directories: the rename is done, only not yet forced out.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const reasons: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied (read-only for this user?)',
  EPERM: 'permission denied (read-only for this user?)',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
};

/**
 * One line for a failed file operation that names the file and the cause in words:
 * `no space left on device writing runs/x/checkpoint-epoch-003.safetensors`.
 */
export function fileError(e: unknown, path: string, doing = 'writing'): Error {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const reason = reasons[code] ?? (e as Error).message;
  return Object.assign(new Error(`${reason} ${doing} ${path}`), { code });
}
