/** Runs the `backprop` binary as a user would: a separate process. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const bin = fileURLToPath(new URL('../bin/backprop.mjs', import.meta.url));
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export function backprop(args: string[], options: { cwd?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {}) {
  const env = options.env ? { ...process.env, ...options.env } : process.env;
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: options.cwd ?? repoRoot, env, encoding: 'utf8', timeout: options.timeout ?? 120_000 });
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
