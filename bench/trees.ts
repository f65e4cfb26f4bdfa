/**
 * This tree against another installed checkout (an older commit), CPU seconds, in turns: the batch-8
 * epoch of the paper's network through the tape (1,500 steps after 300 of warm-up, scaled to 60,000
 * images) and the evaluation of 70,000 images (`evaluate` on both splits). Each round runs both
 * trees as child processes, the order swapped every round; each gets the median of the rounds, and
 * the per-round ratios their median. CPU time, because on a shared machine wall time measures the
 * others' load too.
 *
 *   npx tsx bench/trees.ts DIR [rounds = 5]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median } from './timing.ts';

type Round = { tape8: number; evaluation: number };

/** One round with the built packages (dist/) of the checkout at `root`. */
async function round(root: string): Promise<Round> {
  const { Rng, Tape, tidy } = await import(pathToFileURL(join(root, 'packages/graph/dist/index.js')).href);
  const { evaluate, loadMnist, lossOnTape, MLP, SGD } = await import(pathToFileURL(join(root, 'packages/mlp/dist/index.js')).href);
  const sets = loadMnist();
  const cpu = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1e6;
  };
  const epoch = (count: number): number => {
    const rng = Rng.seeded(1);
    const net = MLP.init({ sizes: [784, 800, 100, 10], activation: 'tanh' }, rng);
    const sgd = new SGD(net.parameters(), 0.01);
    const order = rng.shuffle(Int32Array.from({ length: sets.train.count }, (_, i) => i));
    const c0 = cpu();
    for (let s = 0; s < count; s++) {
      tidy(() => {
        const { X, y } = sets.train.batch(order.subarray(s * 8, s * 8 + 8));
        const t = new Tape();
        t.backward(lossOnTape(t, 'hinge', net.forward(t, X), y));
        sgd.step();
      });
    }
    return ((cpu() - c0) / (count * 8)) * 60000;
  };
  epoch(300);
  const tape8 = epoch(1500);
  const net = MLP.init({ sizes: [784, 800, 100, 10], activation: 'tanh' }, Rng.seeded(1));
  evaluate(net, sets.test, 'hinge');
  const c0 = cpu();
  evaluate(net, sets.train, 'hinge');
  evaluate(net, sets.test, 'hinge');
  return { tape8, evaluation: cpu() - c0 };
}

if (process.argv[2] === '--round') console.log(JSON.stringify(await round(process.argv[3])));
else {
  const other = resolve(process.argv[2] ?? '');
  if (!existsSync(join(other, 'packages/graph/dist/index.js')))
    throw new Error(`${other}: no packages/graph/dist there; give the root of an installed checkout (npx -y pnpm@12.4.2 install)`);
  const trees = { 'this tree': resolve('.'), [other]: other };
  const rounds = Number(process.argv[3] ?? 5);
  const times: Record<string, Round[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, root] of r % 2 ? Object.entries(trees).reverse() : Object.entries(trees)) {
      const p = spawnSync(process.execPath, ['--import', 'tsx', 'bench/trees.ts', '--round', root], { encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`${name}: ${p.stderr}`);
      (times[name] ??= []).push(JSON.parse(p.stdout.trim().split('\n').at(-1)!));
    }
  }
  const [mine, theirs] = [times['this tree'], times[other]];
  for (const key of ['tape8', 'evaluation'] as const) {
    const a = mine.map((t) => t[key]),
      b = theirs.map((t) => t[key]);
    const what = key === 'tape8' ? 'batch-8 tape epoch, CPU s' : 'evaluation of 70,000 images, CPU s';
    console.log(
      `${what}: this tree ${median(a).toFixed(2)} (${a.map((x) => x.toFixed(2)).join(' ')}), ${other} ${median(b).toFixed(2)} (${b.map((x) => x.toFixed(2)).join(' ')})`,
    );
    console.log(`  ratio of the medians ${(median(a) / median(b)).toFixed(3)}, median of the per-round ratios ${median(a.map((x, i) => x / b[i])).toFixed(3)}`);
  }
}
