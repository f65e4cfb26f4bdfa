import { readdirSync, readFileSync } from 'node:fs';
import { tidy } from '@backprop/graph';

/** Timing helpers for benchmarks: medians of repeated runs, since the machine is shared and noisy. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Seconds per call of `fn`: the median over `runs` runs, each repeating `fn` for about `seconds`.
 * Each call runs in a `tidy` scope, as a training step does, so its arrays are reused by the next.
 */
export function secondsPerCall(body: () => unknown, runs = 5, seconds = 0.2): number {
  const fn = () => void tidy(body);
  for (const t0 = performance.now(); performance.now() - t0 < 100; ) fn(); // warm up: let the JIT optimise
  let reps = 1;
  for (let t0 = performance.now(); performance.now() - t0 < (seconds * 1000) / runs; reps++) fn();
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    samples.push((performance.now() - t0) / 1000 / reps);
  }
  return median(samples);
}

/** CPU seconds of each thread of this process so far (Linux: /proc/self/task/<tid>/stat, utime + stime), or an empty map elsewhere. */
export function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(tid, (Number(fields[11]) + Number(fields[12])) / 100); // clock ticks of 10 ms
    }
  } catch {
    // not Linux
  }
  return out;
}

/** The machine's CPU time so far, idle and in all (Linux: the first line of /proc/stat, clock ticks), or null elsewhere. */
export function machineCpu(): { idle: number; all: number } | null {
  try {
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: ticks[3] + ticks[4], all: ticks.reduce((a, b) => a + b, 0) }; // idle and iowait
  } catch {
    return null;
  }
}
