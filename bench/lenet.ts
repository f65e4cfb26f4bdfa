/**
 * Seconds per training epoch (60,000 images, evaluation excluded) of LeNet-5 (examples/models/lenet.ts):
 * cross-entropy, Adam lr 0.001, batch 64, float32, as `backprop train --model examples/models/lenet.ts
 * --loss ce --optimizer adam --batch-size 64` steps. Measured over a fixed slice of an epoch (the first
 * `count` batches of a seeded shuffle of MNIST's training images) and scaled to 60,000 images.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Rng, setThreads, Tape, tidy } from '@backprop/graph';
import { createOptimizer, defaultMnistDir, loadMnist, loadModelFile, lossOnTape, ModelNetwork, type Dataset } from '@backprop/mlp';
import { checkReferenceCore, referenceEnv } from './reference-env.ts';
import { machineCpu, median, threadCpu } from './timing.ts';

export const LENET_BATCH = 64;
/** Batches per timed run: 6,400 images, a ninth of an epoch (a full epoch per run would make the bench minutes long). */
export const LENET_STEPS = 100;

const lenetFile = fileURLToPath(new URL('../examples/models/lenet.ts', import.meta.url));

/**
 * Seconds for `count` training steps of LeNet-5 at batch 64, from the same seed each time: wall-clock,
 * CPU (this process's user + system), the CPU of its busiest thread (what the steps would take on
 * free cores, less the waits; NaN where threads cannot be read), and the share of the machine's CPU
 * time that was idle meanwhile (NaN where unknown): a second thread gains wall-clock time only where
 * a core is free.
 */
export async function lenetSteps(train: Dataset, count: number): Promise<{ wall: number; cpu: number; busiest: number; idle: number }> {
  const model = await loadModelFile(lenetFile);
  const rng = Rng.seeded(1);
  const net = new ModelNetwork(model, rng);
  const optimizer = createOptimizer('adam', net.parameters(), { lr: 0.001 });
  const order = rng.shuffle(Int32Array.from({ length: train.count }, (_, i) => i));
  const t0 = performance.now(),
    c0 = process.cpuUsage(),
    threads0 = threadCpu(),
    machine0 = machineCpu();
  for (let s = 0; s < count; s++) {
    tidy(() => {
      const batch = train.batch(order.subarray(s * LENET_BATCH, (s + 1) * LENET_BATCH));
      const tape = new Tape();
      const loss = lossOnTape(tape, 'ce', net.forward(tape, batch.X, { training: true, rng }), batch.y);
      tape.backward(loss);
      optimizer.step();
    });
  }
  const cpu = process.cpuUsage(c0),
    wall = (performance.now() - t0) / 1000;
  const threads = [...threadCpu()].map(([tid, t]) => t - (threads0.get(tid) ?? 0)),
    machine = machineCpu();
  const idle = machine && machine0 && machine.all > machine0.all ? (machine.idle - machine0.idle) / (machine.all - machine0.all) : NaN;
  return { wall, cpu: (cpu.user + cpu.system) / 1e6, busiest: threads.length ? Math.max(...threads) : NaN, idle };
}

/**
 * Seconds per epoch of 60,000 images, wall-clock, CPU and the busiest thread's CPU, and the machine's
 * idle share: the medians of `runs` timed runs of LENET_STEPS steps, after one to warm up.
 */
export async function benchLenet(runs = 5, train: Dataset = loadMnist().train): Promise<Times> {
  await lenetSteps(train, Math.ceil(LENET_STEPS / 4));
  const times: { wall: number; cpu: number; busiest: number; idle: number }[] = [],
    scale = 60000 / (LENET_STEPS * LENET_BATCH);
  for (let r = 0; r < runs; r++) times.push(await lenetSteps(train, LENET_STEPS));
  const m = (f: (t: (typeof times)[number]) => number) => median(times.map(f));
  return { lenet: m((t) => t.wall) * scale, cpu: m((t) => t.cpu) * scale, busiest: m((t) => t.busiest) * scale, idle: m((t) => t.idle) };
}

const python = '/usr/bin/python3';

/** Seconds per epoch of one run: wall-clock, CPU, the busiest thread's CPU (ours only), and the machine's idle share meanwhile (ours only). */
type Times = { lenet: number; cpu: number; busiest?: number; idle?: number };

/** One child run of a path with `threads` threads: ours (`node bench/lenet.ts 1 threads`) or PyTorch; null when PyTorch fails. */
function childRun(path: 'ours' | 'torch', threads = 1): Times | null {
  const [command, args, env] =
    path === 'ours'
      ? [process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '1', String(threads)], process.env]
      : [
          python,
          [fileURLToPath(new URL('lenet.py', import.meta.url)), defaultMnistDir(), String(LENET_STEPS), '1', String(threads)],
          // PASSIVE: threads that wait sleep rather than spin; on a machine busy with other work, spinning OpenMP
          // threads made the two-thread step 20x slower than the one-thread one (823 s against 35 s an epoch at load 17)
          referenceEnv(threads, { OMP_WAIT_POLICY: 'PASSIVE' }),
        ];
  const r = spawnSync(command, args, { env, encoding: 'utf8' });
  if (r.status !== 0) {
    if (path === 'ours') throw new Error(`the LeNet-5 benchmark failed: ${r.stderr}`);
    return null;
  }
  const times = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  if (path === 'torch') checkReferenceCore(times.core);
  return times;
}

/**
 * `pnpm bench`'s LeNet-5 rows: our training epoch (one and two kernel threads: `setThreads`) beside
 * PyTorch's with one and two threads, each a child process that warms up and times one slice, the four taking turns for
 * `rounds` rounds; medians, and the ratios of the medians. Wall-clock seconds, and CPU seconds
 * (user + system of the process), which a machine busy with other work inflates less. Adds its
 * numbers to `record`.
 */
export function lenetRows(record: Record<string, number>, rounds = 5): void {
  const torch = existsSync(python) && spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  const version = torch && torch.status === 0 ? torch.stdout.trim() : null;
  const runs: Record<string, Times[]> = { ours: [], ours2: [], torch1: [], torch2: [] };
  for (let r = 0; r < rounds; r++) {
    runs.ours.push(childRun('ours')!);
    runs.ours2.push(childRun('ours', 2)!);
    if (!version) continue;
    for (const threads of [1, 2]) {
      const t = childRun('torch', threads);
      if (t) runs[`torch${threads}`].push(t);
    }
  }
  const wall = (path: string) => median(runs[path].map((t) => t.lenet)),
    cpu = (path: string) => median(runs[path].map((t) => t.cpu));
  console.log('\nLeNet-5 training epoch (examples/models/lenet.ts: cross-entropy, Adam lr 0.001, batch 64, float32; 60,000 images, evaluation excluded),');
  console.log(`s/epoch from the first ${LENET_STEPS * LENET_BATCH} images of a seeded shuffle of MNIST, scaled; median of ${rounds} rounds taking turns`);
  console.log(`${''.padEnd(36)}wall    CPU   ours / it (wall, CPU)`);
  const row = (name: string, w: number, c: number, ratios = '') =>
    console.log(`  ${name.padEnd(32)}${w.toFixed(2).padStart(6)}${c.toFixed(2).padStart(7)}${ratios}`);
  row('ours, one thread', wall('ours'), cpu('ours'));
  row('ours, two threads', wall('ours2'), cpu('ours2'));
  record['lenet'] = wall('ours');
  record['lenet cpu'] = cpu('ours');
  record['lenet two threads'] = wall('ours2');
  // On busy cores our two threads share one core's time with the others' work: the busiest thread's
  // CPU says what the epoch would take on free cores (less the waits), the idle share whether there were any.
  const busiest = median(runs.ours2.map((t) => t.busiest ?? NaN)),
    idle = median(runs.ours2.map((t) => t.idle ?? NaN));
  if (!Number.isNaN(busiest)) {
    console.log(
      `  ours, two threads: the busiest thread's CPU ${busiest.toFixed(2)} s/epoch, ${(busiest / cpu('ours')).toFixed(2)} of one thread's CPU; the machine ${(100 * idle).toFixed(0)}% idle meanwhile`,
    );
    record['lenet two threads busiest thread cpu / one thread cpu'] = busiest / cpu('ours');
    record['lenet two threads, machine idle (%)'] = 100 * idle;
  }
  if (!version) {
    console.log(`  PyTorch: skipped (needs ${python} with PyTorch: apt-get install python3-torch)`);
    return;
  }
  for (const threads of [1, 2]) {
    const path = `torch${threads}`,
      name = threads === 1 ? 'one thread' : 'two threads';
    if (runs[path].length < rounds) {
      console.log(`  PyTorch ${name}: failed (python3 bench/lenet.py ${defaultMnistDir()} ${LENET_STEPS} 1 ${threads} shows why)`);
      continue;
    }
    const [w, c] = [wall(path), cpu(path)];
    // CPU time of two threads is their sum: only the wall-clock ratio means something there
    // ours with as many threads as PyTorch
    const ours = threads === 1 ? 'ours' : 'ours2';
    row(`PyTorch ${version}, ${name}`, w, c, `   ${(wall(ours) / w).toFixed(2)}${threads === 1 ? `, ${(cpu('ours') / c).toFixed(2)}` : ''}`);
    record[`torch lenet ${name}`] = w;
    record[`lenet / torch ${name}`] = wall(ours) / w;
    if (threads === 1) {
      record['torch lenet one thread cpu'] = c;
      record['lenet cpu / torch one thread cpu'] = cpu('ours') / c;
    }
  }
}

// `tsx bench/lenet.ts [runs] [threads]`: this tree's figures alone, as JSON (also the child process of the LeNet rows).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await setThreads(Number(process.argv[3] ?? 1));
  console.log(JSON.stringify(await benchLenet(Number(process.argv[2] ?? 5))));
}
