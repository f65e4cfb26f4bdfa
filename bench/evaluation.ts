/**
 * The evaluation of 70,000 MNIST images (the 60,000 training and 10,000 test images, as `backprop
 * train` evaluates after each epoch) with the paper's network (784-800-100-10, tanh, hinge loss):
 * `evaluate` (accuracy, mean loss, confusion matrix, batches of 1,000), against PyTorch doing the
 * same work on one thread (bench/reference_evaluation.py). The two take turns, one round each, and
 * each gets the median of `runs`: CPU seconds (the figure that holds on a loaded machine; of all
 * the process's threads) and wall seconds. With `threads` > 1 ours runs its kernels on that many
 * threads (`setThreads`), PyTorch still on one: the wall-clock figure then says what a free core
 * buys, the CPU one what it costs.
 *
 *   npx tsx bench/evaluation.ts [runs = 5] [threads = 1]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Rng, setThreads } from '@backprop/graph';
import { evaluate, loadMnist, MLP } from '@backprop/mlp';
import { checkReferenceCore, referenceEnv } from './reference-env.ts';
import { median } from './timing.ts';

type Round = { cpu: number; wall: number };
export type EvaluationTimes = { ours: Round; torch: Round | null; torchVersion: string | null };

/** One evaluation of both splits. */
function ours(net: MLP, sets: ReturnType<typeof loadMnist>): Round {
  const t0 = performance.now(),
    c0 = process.cpuUsage();
  evaluate(net, sets.train, 'hinge');
  evaluate(net, sets.test, 'hinge');
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1e6, wall: (performance.now() - t0) / 1000 };
}

/** One round of PyTorch's evaluation in its own process (the import and a warm-up round not timed), or null without PyTorch. */
function torchRound(python: string): (Round & { version: string }) | null {
  if (!existsSync(python)) return null;
  const r = spawnSync(python, ['bench/reference_evaluation.py', '1'], { env: referenceEnv(1), encoding: 'utf8' });
  if (r.status !== 0) return null;
  const out = JSON.parse(r.stdout);
  checkReferenceCore(out.core);
  return { cpu: out.cpu[0], wall: out.seconds[0], version: out.torch };
}

const medianOf = (rounds: Round[]): Round => ({ cpu: median(rounds.map((r) => r.cpu)), wall: median(rounds.map((r) => r.wall)) });
const show = (rounds: Round[], key: keyof Round) => rounds.map((r) => r[key].toFixed(2)).join(' ');

/** Ours and PyTorch's evaluation of 70,000 images, in turns, medians of `runs`. */
export function benchEvaluation(runs = 5, print = true, python = '/usr/bin/python3', threads = 1): EvaluationTimes {
  const sets = loadMnist();
  const net = MLP.init({ sizes: [784, 800, 100, 10], activation: 'tanh' }, Rng.seeded(1));
  ours(net, sets); // warm up
  const mine: Round[] = [],
    theirs: Round[] = [];
  let version: string | null = null;
  for (let r = 0; r < runs; r++) {
    mine.push(ours(net, sets));
    const t = torchRound(python);
    if (t) {
      theirs.push(t);
      version = t.version;
    }
  }
  const result = { ours: medianOf(mine), torch: theirs.length === runs ? medianOf(theirs) : null, torchVersion: version };
  if (print) {
    console.log(`\nevaluation of 70,000 MNIST images (paper's network, batches of 1,000: accuracy, loss, confusion), median of ${runs}, in turns`);
    console.log(
      `  ours${threads > 1 ? `, ${threads} threads` : ''}: CPU ${result.ours.cpu.toFixed(2)} s (${show(mine, 'cpu')}), wall ${result.ours.wall.toFixed(2)} s (${show(mine, 'wall')})`,
    );
    if (!result.torch) console.log(`  PyTorch: skipped (needs ${python} with torch: apt-get install python3-torch)`);
    else {
      console.log(
        `  PyTorch ${version}, one thread: CPU ${result.torch.cpu.toFixed(2)} s (${show(theirs, 'cpu')}), wall ${result.torch.wall.toFixed(2)} s (${show(theirs, 'wall')})`,
      );
      console.log(`  ours / PyTorch: CPU ${(result.ours.cpu / result.torch.cpu).toFixed(2)}, wall ${(result.ours.wall / result.torch.wall).toFixed(2)}`);
    }
  }
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const threads = Number(process.argv[3] ?? 1);
  await setThreads(threads);
  benchEvaluation(Number(process.argv[2] ?? 5), true, undefined, threads);
  await setThreads(1); // the workers end, and the process with them
}
