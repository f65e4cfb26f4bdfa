/**
 * The kernel threads (packages/graph/src/kernels/threads.ts): what one split costs (a round trip
 * calling thread -> worker -> calling thread on an empty part), each product of the paper's network
 * on one thread and on two, and the epoch at batch 128 on one thread, on two, and NumPy with two
 * OpenBLAS threads, taking turns. `tsx bench/threads.ts` runs it alone; `npm run bench` includes it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { kernels, Rng, setThreads, type Tensor } from '@backprop/graph';
import { loadMnist } from '@backprop/mlp';
// The round trip needs the team, which the package does not export: from the sources (a second copy of the module here).
import { float32Kernels, setThreads as setSourceThreads } from '../packages/graph/src/kernels/wasm.ts';
import { steps } from './epoch.ts';
import { median, secondsPerCall, threadCpu } from './timing.ts';
import { checkReferenceCore, referenceEnv } from './reference-env.ts';

/** Microseconds per call of an empty kernel call: alone, and split in two (the round trip to a worker), median of 5 x 2,000. */
async function roundTrip(): Promise<{ alone: number; split: number }> {
  await setSourceThreads(2);
  const team = float32Kernels(new Float32Array(1))?.team;
  if (!team || team.size < 2) return { alone: NaN, split: NaN };
  const time = (parts: number[][]) => {
    const samples: number[] = [];
    for (let r = 0; r < 6; r++) {
      const t0 = performance.now();
      for (let i = 0; i < 2000; i++) team.run('countNonzero', parts, false);
      if (r > 0) samples.push(((performance.now() - t0) / 2000) * 1000); // the first is a warm-up
    }
    return median(samples);
  };
  const alone: number[] = [],
    split: number[] = [];
  for (let r = 0; r < 3; r++) {
    alone.push(time([[0, 0]]));
    split.push(
      time([
        [0, 0],
        [0, 0],
      ]),
    );
  }
  await setSourceThreads(1);
  return { alone: median(alone), split: median(split) };
}

export async function benchThreads(python = '/usr/bin/python3'): Promise<Record<string, number>> {
  const record: Record<string, number> = {};
  const trip = await roundTrip();
  console.log(
    `\nkernel threads: an empty kernel call ${trip.alone.toFixed(2)} us; split over two threads (a round trip to a worker) ${trip.split.toFixed(2)} us (medians)`,
  );
  record['thread round trip (us)'] = trip.split;

  const rng = Rng.seeded(1);
  const mnistLike = (shape: number[]) => rng.tensor(shape, (r) => (r.uniform() < 0.81 ? 0 : r.uniform()));
  const shapes: { name: string; a: Tensor; b: Tensor }[] = [];
  for (const batch of [8, 128, 1000]) {
    shapes.push(
      { name: `[${batch},784]x[784,800] X W1`, a: mnistLike([batch, 784]), b: rng.randn([784, 800]) },
      { name: `[${batch},800]x[800,100] H1 W2`, a: rng.randn([batch, 800]), b: rng.randn([800, 100]) },
    );
    if (batch === 1000) continue; // evaluation: forward only
    shapes.push(
      { name: `[784,${batch}]x[${batch},800] Xᵀ G1`, a: mnistLike([batch, 784]).T, b: rng.randn([batch, 800]) },
      { name: `[800,${batch}]x[${batch},100] H1ᵀ G2`, a: rng.randn([batch, 800]).T, b: rng.randn([batch, 100]) },
      { name: `[${batch},100]x[100,800] G2 W2ᵀ`, a: rng.randn([batch, 100]), b: rng.randn([800, 100]).T },
    );
  }
  console.log("products of the paper's network, us per call (medians of 5, one and two threads taking turns)");
  console.log('shape                            1 thread  2 threads  ratio');
  for (const { name, a, b } of shapes) {
    const one: number[] = [],
      two: number[] = [];
    for (let r = 0; r < 3; r++) {
      await setThreads(1);
      one.push(secondsPerCall(() => kernels.matmul(a.array, b.array)) * 1e6);
      await setThreads(2);
      two.push(secondsPerCall(() => kernels.matmul(a.array, b.array)) * 1e6);
    }
    const [t1, t2] = [median(one), median(two)];
    console.log(`  ${name.padEnd(31)}${t1.toFixed(1).padStart(9)}${t2.toFixed(1).padStart(11)}${(t2 / t1).toFixed(2).padStart(7)}`);
    record[`${name.trim()}, two threads / one`] = t2 / t1;
  }

  // The epoch at batch 128 (the tape, 150 steps scaled to 60,000 images): one thread, two, and
  // NumPy with two OpenBLAS threads (its own median of 5 in each turn), five turns.
  const { train } = loadMnist();
  // Each turn also records the CPU time of the busiest thread and of all: on a loaded machine wall
  // time says how the scheduler shared the cores; the busiest thread's CPU time is what the epoch
  // would take on free cores, less the waits.
  const scale = 60000 / (150 * 128);
  const cpu: Record<'one' | 'two', { busiest: number[]; total: number[] }> = { one: { busiest: [], total: [] }, two: { busiest: [], total: [] } };
  const epoch = async (threads: number, record = false) => {
    await setThreads(threads);
    const before = threadCpu();
    const seconds = steps(train, 128, 150, 'tape') * scale;
    const used = [...threadCpu()].map(([tid, t]) => (t - (before.get(tid) ?? 0)) * scale);
    if (record && used.length) {
      const into = cpu[threads === 1 ? 'one' : 'two'];
      into.busiest.push(Math.max(...used));
      into.total.push(used.reduce((a, b) => a + b, 0));
    }
    return seconds;
  };
  const env = referenceEnv(2);
  const numpy = () => {
    if (!existsSync(python)) return NaN;
    const r = spawnSync(python, ['bench/reference.py', '--batch', '128', '--numpy-only'], { env, encoding: 'utf8' });
    if (r.status !== 0) return NaN;
    const out = JSON.parse(r.stdout);
    checkReferenceCore(out.core);
    return out['numpy batch 128'];
  };
  await epoch(1);
  await epoch(2); // warm up
  const times: Record<'one' | 'two' | 'numpy', number[]> = { one: [], two: [], numpy: [] };
  for (let r = 0; r < 5; r++) {
    times.one.push(await epoch(1, true));
    times.two.push(await epoch(2, true));
    times.numpy.push(numpy());
  }
  await setThreads(1);
  const [one, two, np2] = [median(times.one), median(times.two), median(times.numpy)];
  console.log(
    `epoch at batch 128 (the tape, s/epoch, medians of 5 turns): one thread ${one.toFixed(2)}, two threads ${two.toFixed(2)} (${(two / one).toFixed(2)} of one)` +
      (Number.isNaN(np2)
        ? '; NumPy: skipped (no /usr/bin/python3 with NumPy)'
        : `, NumPy two OpenBLAS threads ${np2.toFixed(2)}; ours two threads / NumPy two threads ${(two / np2).toFixed(2)}`),
  );
  if (cpu.one.busiest.length) {
    const m = (xs: number[]) => median(xs).toFixed(2);
    console.log(
      `  CPU s/epoch (medians): one thread ${m(cpu.one.total)}; two threads ${m(cpu.two.total)} in all, the busiest thread ${m(cpu.two.busiest)} (${(median(cpu.two.busiest) / median(cpu.one.total)).toFixed(2)} of one thread's)`,
    );
    record['tape two threads busiest thread CPU / one thread CPU, batch 128'] = median(cpu.two.busiest) / median(cpu.one.total);
  }
  record['tape two threads batch 128'] = two;
  record['tape two threads / one, batch 128'] = two / one;
  if (!Number.isNaN(np2)) record['tape two threads / numpy two threads, batch 128'] = two / np2;
  return record;
}

if (import.meta.url === `file://${process.argv[1]}`) await benchThreads();
