/** Runs the `backprop` binary as a user would: a separate process. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '@backprop/mlp';
import { hangLimit } from '../../../test/limits.ts';

export { hangLimit };

export const bin = fileURLToPath(new URL('../bin/backprop.mjs', import.meta.url));
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export function backprop(args: string[], options: { cwd?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {}) {
  const env = options.env ? { ...process.env, ...options.env } : process.env;
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: options.cwd ?? repoRoot, env, encoding: 'utf8', timeout: options.timeout ?? hangLimit });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

/** Runs the binary with its stdout a pipe whose reading end is closed before it writes anything (`| head -0`). */
export function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

/**
 * Starts `backprop train ... --out DIR` and sends it `signal` as soon as its first checkpoint is
 * on disk; resolves with its exit code and what it printed on stderr.
 */
export async function interruptAfterFirstEpoch(args: string[], out: string, signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [bin, 'train', ...args, '--out', out], { cwd: repoRoot });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const poll = setInterval(() => {
    if (existsSync(join(out, 'checkpoint-epoch-001.safetensors'))) {
      clearInterval(poll);
      child.kill(signal);
    }
  }, 10);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearInterval(poll);
  return { code, stderr };
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `backprop ARGS` without waiting: the process, and a promise of how it ended. */
export function start(args: string[], options: { cwd?: string; detached?: boolean; env?: Record<string, string> } = {}) {
  const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd ?? repoRoot, detached: options.detached, env: { ...process.env, ...options.env } });
  let stdout = '',
    stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const finished = new Promise<Finished>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, pid: child.pid!, finished };
}

/** Whether a process runs (a zombie, killed but not yet reaped, does not). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `test` every 20 ms until it holds (true) or `ms` pass (false). */
export async function waitFor(test: () => boolean, ms: number): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(20)) if (test()) return true;
  return test();
}

/**
 * Mounts a tmpfs of `size` (e.g. '3m') on a new directory: a small disk that really fills up.
 * Needs root (CI runs as root); elsewhere says why it could not.
 */
export function mountTmpfs(size: string): { dir: string; remount(size: string): void; unmount(): void } | { error: string } {
  const dir = mkdtempSync(join(tmpdir(), 'small-disk-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { error: `cannot mount a tmpfs (${(r.stderr || r.error?.message || '').trim()}; it needs root)` };
  }
  return {
    dir,
    remount: (s) => void spawnSync('mount', ['-o', `remount,size=${s}`, dir]),
    unmount() {
      spawnSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The bytes of a saved model's parameters, in order: two runs with the same bits give equal buffers. */
export const weightsOf = (path: string) =>
  Buffer.concat(
    loadModel(path)
      .net.parameters()
      .map((p) => p.bytes()),
  );
