/** Writing files so that a crash or a full disk never leaves a half-written one, and reading a user's files within bounds. */
import { closeSync, constants, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs';
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

/** The largest file read into memory whole: Node's limit for one read (2 GiB - 1 bytes). */
export const MAX_FILE_BYTES = 2 ** 31 - 1;

const kindOf = (s: Stats) =>
  s.isDirectory()
    ? 'a directory'
    : s.isCharacterDevice() || s.isBlockDevice()
      ? 'a device'
      : s.isFIFO()
        ? 'a pipe'
        : s.isSocket()
          ? 'a socket'
          : 'not a plain file';

const sizeOf = (bytes: number) =>
  bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${bytes} bytes`;

/**
 * The bytes of a file a user names, read only if it is a regular file of at most `limit` bytes:
 * a device (/dev/zero), a pipe or a directory would be read forever, block, or fail with an error
 * code. `what` names the kind of file in the error (`a model`). Opened without blocking (a pipe
 * would wait for a writer), then checked, then read to the size it had when checked. Errors are
 * one line naming the file: `runs/x.json: cannot read: no such file or directory`.
 */
export function readUserFile(path: string, { limit = MAX_FILE_BYTES, what = 'a file' }: { limit?: number; what?: string } = {}): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw readError(e, path);
  }
  let stat: Stats;
  try {
    stat = fstatSync(fd);
  } catch (e) {
    closeSync(fd);
    throw readError(e, path);
  }
  // (the code says what it is to a caller that words it its own way: check's 'is a directory')
  const refuse = (message: string, code?: string) => {
    closeSync(fd);
    return Object.assign(new Error(message), { code });
  };
  if (!stat.isFile()) throw refuse(`${path}: is ${kindOf(stat)}, not a file; name a file`, stat.isDirectory() ? 'EISDIR' : undefined);
  if (stat.size > limit) throw refuse(`${path}: is ${sizeOf(stat.size)}, more than ${what} can be (${sizeOf(limit)}); is it the right file?`);
  try {
    const bytes = Buffer.allocUnsafe(stat.size);
    let done = 0;
    for (let n; done < bytes.length && (n = readSync(fd, bytes, done, bytes.length - done, null)) > 0; ) done += n;
    return done === bytes.length ? bytes : bytes.subarray(0, done); // shorter if it shrank meanwhile
  } catch (e) {
    throw readError(e, path);
  } finally {
    closeSync(fd);
  }
}

function readError(e: unknown, path: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  return Object.assign(new Error(`${path}: cannot read: ${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : reasonOf(e)}`), { code });
}

/** The cause of a failed file operation in words (`no such file or directory`), or its message. */
function reasonOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return reasons[code] ?? (e as Error).message;
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
  ENAMETOOLONG: 'file name too long (a path is at most 4096 bytes, a name 255)',
  ELOOP: 'too many symbolic links',
};

/**
 * One line for a failed file operation that names the file and the cause in words:
 * `no space left on device writing runs/x/checkpoint-epoch-003.safetensors`.
 */
export function fileError(e: unknown, path: string, doing = 'writing'): Error {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return Object.assign(new Error(`${reasonOf(e)} ${doing} ${path}`), { code });
}
