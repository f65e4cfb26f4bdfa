/** `backprop gradcheck`: hand-derived vs tape vs finite differences, for an MLP, a model file (gradcheck-model.ts) or ops. */
import type { Argv } from 'yargs';
import { gradcheck, gradgradcheck, hvp, kernels, opCases, opOfCase, Rng, Tape, Tensor, type InputReport } from '@backprop/graph';
import {
  activationNames,
  Dense,
  handBackward,
  initNames,
  loadMnist,
  lossNames,
  lossOnTape,
  MLP,
  parseLayers,
  type ActivationName,
  type InitName,
  type LossName,
} from '@backprop/mlp';
import { parseModelOptions } from './train.ts';
import { table } from '../format.ts';
import { drawAs, paperNames } from '../network-graph.ts';

export const gradcheckOptions = (y: Argv) =>
  y
    .option('model', { type: 'string', describe: "check a model file's network and its hand-derived backward pass (loading it runs its code)" })
    .option('model-option', {
      type: 'string',
      array: true,
      describe: 'NAME=VALUE: an option of a model file that exports a function of options (repeat for more; VALUE is read as JSON, else as a string)',
    })
    .option('layers', { type: 'string', describe: 'layer sizes', defaultDescription: '784,800,100,10' })
    .option('activation', { choices: activationNames, defaultDescription: 'tanh' })
    .option('loss', {
      choices: [...lossNames, 'model'] as (LossName | 'model')[],
      describe: "the loss to differentiate; model: a model file's own",
      defaultDescription: "hinge; with --model, the file's own loss when it exports one (what it trains on)",
    })
    .option('batch', { type: 'number', default: 8, describe: 'batch size' })
    .option('seed', { type: 'number', default: 1, describe: 'seed of the weights, the batch and the directions' })
    .option('init', {
      choices: initNames,
      describe: "weights (the paper's 1e-3 makes deep gradients too small to difference); with --model, replaces the file's random initialisers",
      defaultDescription: "he; with --model, the file's",
    })
    .option('random', { type: 'boolean', describe: 'random inputs and labels instead of MNIST images' })
    .option('full-limit', { type: 'number', default: 1000, describe: 'parameters with more entries are checked along random directions' })
    .option('op', { type: 'string', describe: 'check one op of the graph package (or all) instead of a network' })
    .option('order', { choices: [1, 2], default: 1, describe: '2: second derivatives (Hessian-vector products of the loss; gradgradcheck of ops)' })
    .option('json', { type: 'boolean' })
    .option('graph', { type: 'string', describe: "draw the network's graph, each parameter's agreement on its node, to this file (SVG; DOT for .dot or .gv)" })
    .conflicts('model', ['layers', 'activation', 'op'])
    .conflicts('op', ['layers', 'activation', 'model-option']);

type Args = Awaited<ReturnType<ReturnType<typeof gradcheckOptions>['parseAsync']>>;

/** Largest difference of two gradients computed by different code, relative to the largest |b|, and where. */
export interface Pair {
  maxAbs: number;
  maxRel: number;
  worst: number[];
  a: number;
  b: number;
}
/** Hand-derived and tape gradients agree when their largest difference is this small relative to the largest gradient (float64). */
export const HAND_RTOL = 1e-9;
export const sci = (x: number) => x.toExponential(2);
const at = (r: InputReport) => (r.mode === 'full' ? `[${r.worst.at.join(',')}]` : `direction ${r.worst.at[0]}`);

/** Entrywise comparison of two gradients computed by different code. */
export function compare(a: Tensor, b: Tensor): Pair {
  const x = a.toFlatArray(),
    z = b.toFlatArray();
  let worst = 0,
    maxAbs = 0,
    scale = Number.MIN_VALUE;
  x.forEach((v, i) => {
    const e = Math.abs(v - z[i]);
    scale = Math.max(scale, Math.abs(z[i]));
    if (e > maxAbs || Number.isNaN(e)) {
      maxAbs = e;
      worst = i;
    }
  });
  return { maxAbs, maxRel: maxAbs / scale, worst: kernels.unravel(worst, a.shape), a: x[worst], b: z[worst] };
}

/** The comparisons of one parameter: hand vs tape (when there is a hand-derived pass), tape and hand vs central differences. */
export interface ParameterCheck {
  name: string;
  shape: number[];
  mode: 'full' | 'fast';
  checked: number;
  handVsTape?: Pair;
  tapeVsNumeric: InputReport;
  handVsNumeric?: InputReport;
  ok: boolean;
}

/** A parameter's verdict and its table of comparisons. */
export function parameterTable(r: ParameterCheck): string {
  const how = r.mode === 'full' ? `every entry` : `${r.checked} random directions v^T J u`;
  const kinks = (x: InputReport) => (x.kinks ? `${x.ok ? 'ok' : 'MISMATCH'}, ${x.kinks} at a kink` : x.ok ? 'ok' : 'MISMATCH');
  const rows = [];
  if (r.handVsTape)
    rows.push([
      '  hand vs tape',
      sci(r.handVsTape.maxAbs),
      sci(r.handVsTape.maxRel),
      `[${r.handVsTape.worst.join(',')}]`,
      r.handVsTape.maxRel <= HAND_RTOL ? 'ok' : 'MISMATCH',
    ]);
  rows.push(['  tape vs numeric', sci(r.tapeVsNumeric.maxAbsError), sci(r.tapeVsNumeric.maxRelError), at(r.tapeVsNumeric), kinks(r.tapeVsNumeric)]);
  if (r.handVsNumeric)
    rows.push(['  hand vs numeric', sci(r.handVsNumeric.maxAbsError), sci(r.handVsNumeric.maxRelError), at(r.handVsNumeric), kinks(r.handVsNumeric)]);
  return (
    `${r.name} [${r.shape.join(',')}], ${how}: ${r.ok ? 'ok' : 'MISMATCH'}\n` + table(['  pair', 'max abs', 'max rel', 'worst at', 'verdict'], rows) + '\n'
  );
}

/** What a check of a network returns: its exit status, and its picture (drawn only if asked for: Graphviz is loaded then). */
export interface Checked {
  code: number;
  graph: (path: string) => Promise<string>;
}

/** A parameter's node in the picture: how its gradients compared there, green where they agree, red where not. */
export interface Note {
  lines: string[];
  ok: boolean;
}

/** The notes of a first-order check: each pair of gradients compared, and its verdict. */
export function parameterNote(r: ParameterCheck): Note {
  const lines = [`tape vs numeric: ${sci(r.tapeVsNumeric.maxRelError)} ${r.tapeVsNumeric.ok ? 'ok' : 'MISMATCH'}`];
  if (r.handVsTape) lines.unshift(`hand vs tape: ${sci(r.handVsTape.maxRel)} ${r.handVsTape.maxRel <= HAND_RTOL ? 'ok' : 'MISMATCH'}`);
  if (r.handVsNumeric) lines.push(`hand vs numeric: ${sci(r.handVsNumeric.maxRelError)} ${r.handVsNumeric.ok ? 'ok' : 'MISMATCH'}`);
  return { lines, ok: r.ok };
}

/**
 * The picture of a check: the tape of the loss (its first `ops` records: what came after is a
 * backward pass recorded for second derivatives), the backward pass from the loss, and each
 * parameter's note on its node.
 */
export function checkGraph(tape: Tape, ops: number, loss: Tensor, names: Map<Tensor, string>, params: Tensor[], notes: Note[], title: string) {
  const index = new Map(params.map((p, i) => [p, i]));
  return (path: string) =>
    drawAs(path, tape, {
      records: tape.records.slice(0, ops),
      names,
      backwardFrom: loss,
      title,
      direction: 'TB',
      annotate: (t) => {
        const i = index.get(t);
        return i === undefined ? undefined : { lines: notes[i].lines, fill: notes[i].ok ? '#d3f0da' : '#f9d0cc' };
      },
    });
}

export async function gradcheckCommand(args: Args): Promise<number> {
  for (const [flag, v] of [
    ['--batch', args.batch],
    ['--seed', args.seed],
    ['--full-limit', args['full-limit']],
  ] as const) {
    if (!Number.isInteger(v) || v < (flag === '--batch' ? 1 : 0))
      throw new Error(`${flag} ${v}: expected a ${flag === '--batch' ? 'positive' : 'non-negative'} integer`);
  }
  if (args.op && args.graph) throw new Error("--graph draws a network's graph; with --op there is none (leave out --op, or --graph)");
  if (args.op) return checkOps(args.op, args.seed, !!args.json, args.order === 2);
  const options = parseModelOptions(args['model-option']);
  if (options && args.model === undefined)
    throw new Error(`--model-option: options are for a model file's function of options; name the file with --model FILE`);
  let checked: Checked;
  if (args.model !== undefined) {
    const m = await import('./gradcheck-model.ts'),
      modelArgs = { ...args, model: args.model, options };
    checked = args.order === 2 ? checkHessian(await m.modelSubject(modelArgs), !!args.json) : await m.checkModelFile(modelArgs);
  } else {
    if (args.loss === 'model') throw new Error('--loss model: only a model file (--model FILE) brings its own loss; use hinge, ce or mse');
    const net: NetworkArgs = {
      ...args,
      loss: args.loss ?? 'hinge',
      layers: args.layers ?? '784,800,100,10',
      activation: args.activation ?? 'tanh',
      init: args.init ?? 'he',
    };
    if (args.order !== 2) checked = checkNetwork(net);
    else {
      const { sizes, X, ...rest } = setup(net);
      const data = `${net.loss} loss, batch of ${net.batch} ${net.random ? 'random inputs' : 'MNIST images'}, seed ${net.seed}`;
      const nameTensors = (tape: Tape, loss: Tensor) => mlpNames(tape, X, rest.params, loss);
      checked = checkHessian(
        {
          ...rest,
          nameTensors,
          header: `${sizes.join('-')} ${net.activation}, ${data}`,
          about: { network: sizes, activation: net.activation, lossName: net.loss, batch: net.batch },
        },
        !!net.json,
      );
    }
  }
  if (args.graph) {
    const { writeFileAtomic } = await import('@backprop/mlp');
    writeFileAtomic(args.graph, await checked.graph(args.graph));
  }
  return checked.code;
}

/** An MLP's tensors by §2.1's names, its parameters with their names in the model file too: W1 (layers.0.weight). */
function mlpNames(tape: Tape, X: Tensor, params: Tensor[], loss: Tensor): Map<Tensor, string> {
  const names = paperNames(tape, X, params, loss);
  params.forEach((p, i) => names.set(p, `${names.get(p)} (layers.${Math.floor(i / 2)}.${i % 2 ? 'bias' : 'weight'})`));
  return names;
}

function checkOps(name: string, seed: number, json: boolean, second: boolean): number {
  const cases = Object.entries(opCases).filter(([c]) => name === 'all' || opOfCase(c) === name);
  if (cases.length === 0) {
    throw new Error(`--op ${name}: no such op; choose one of ${[...new Set(Object.keys(opCases).map(opOfCase))].join(', ')} or all`);
  }
  const results = cases.map(([c, make]) => {
    const { inputs, fn } = make(3, 4, seed);
    return { case: c, report: (second ? gradgradcheck : gradcheck)(fn, inputs, { mode: 'full', seed }) };
  });
  const ok = results.every((r) => r.report.ok);
  if (json) {
    console.log(JSON.stringify({ ok, ops: results.map((r) => ({ case: r.case, ok: r.report.ok, inputs: r.report.inputs })) }, null, 2));
    return ok ? 0 : 1;
  }
  const rows = results.flatMap(({ case: c, report }) =>
    report.inputs.map((r, i) => [
      i === 0 ? c : '',
      `${r.input} [${r.shape.join(',')}]`,
      sci(r.maxAbsError),
      sci(r.maxRelError),
      at(r),
      r.ok ? (r.kinks ? 'ok (kink)' : 'ok') : 'MISMATCH',
    ]),
  );
  console.log(table(['op', 'input', 'max abs', 'max rel', 'worst at', 'verdict'], rows));
  const what = second ? 'second-derivative checks (the gradient of <w, dl/dx>, recorded with createGraph)' : 'op checks';
  console.log(`\n${ok ? 'all' : 'not all'} ${results.length} ${what} agree with central differences (float64, eps 1e-6)`);
  return ok ? 0 : 1;
}

type NetworkArgs = {
  layers: string;
  activation: ActivationName;
  loss: LossName;
  batch: number;
  seed: number;
  init: InitName;
  random?: boolean;
  'full-limit': number;
  json?: boolean;
};

/** The network in float64, a batch, and its loss as a function of the parameters. */
function setup(args: NetworkArgs) {
  const sizes = parseLayers(args.layers);
  const rng = Rng.seeded(args.seed);
  const net = MLP.init({ sizes, activation: args.activation }, rng, { init: args.init, dtype: 'float64' });
  const classes = sizes[sizes.length - 1];
  let X: Tensor, y: ArrayLike<number>;
  if (args.random) {
    X = rng.rand([args.batch, sizes[0]], { dtype: 'float64' });
    y = Array.from({ length: args.batch }, () => rng.int(classes));
  } else {
    const { train } = loadMnist();
    if (sizes[0] !== train.features)
      throw new Error(`--layers ${args.layers}: MNIST images have ${train.features} pixels, so the first size must be ${train.features} (or use --random)`);
    if (classes < 10) throw new Error(`--layers ${args.layers}: MNIST has 10 classes, so the last size must be at least 10 (or use --random)`);
    const indices = Array.from({ length: args.batch }, () => rng.int(train.count));
    ({ X, y } = train.batch(indices, 'float64'));
  }
  const names = net.layers.flatMap((_, i) => [`layers.${i}.weight`, `layers.${i}.bias`]);
  const params = net.parameters();
  const lossOf = (t: Tape, ...p: Tensor[]) =>
    lossOnTape(
      t,
      args.loss,
      new MLP(
        { sizes, activation: args.activation },
        net.layers.map((_, i) => new Dense(p[2 * i], p[2 * i + 1])),
      ).forward(t, X),
      y,
    );
  return { sizes, rng, net, names, params, lossOf, X, y };
}

function checkNetwork(args: NetworkArgs): Checked {
  const { sizes, net, names, params, lossOf, X, y } = setup(args);
  const tape = new Tape();
  const loss = lossOf(tape, ...params);
  const tapeGrads = tape.gradients(loss, params);
  const hand = handBackward(net, X, y, args.loss);
  const options = { fullLimit: args['full-limit'], seed: args.seed };
  const tapeVsNumeric = gradcheck(lossOf, params, options).inputs;
  const handVsNumeric = gradcheck(lossOf, params, { ...options, against: hand.grads }).inputs;
  const results = params.map((p, i) => {
    const handVsTape = compare(hand.grads[i], tapeGrads[i]);
    const ok = handVsTape.maxRel <= HAND_RTOL && tapeVsNumeric[i].ok && handVsNumeric[i].ok;
    return {
      name: names[i],
      shape: p.shape,
      mode: tapeVsNumeric[i].mode,
      checked: tapeVsNumeric[i].checked,
      handVsTape,
      tapeVsNumeric: tapeVsNumeric[i],
      handVsNumeric: handVsNumeric[i],
      ok,
    };
  });
  const ok = results.every((r) => r.ok);
  const heading = `${sizes.join('-')} ${args.activation}, ${args.loss} loss, batch of ${args.batch} ${args.random ? 'random inputs' : 'MNIST images'}, seed ${args.seed}: loss ${loss.item().toPrecision(8)}`;
  const graph = checkGraph(
    tape,
    tape.records.length,
    loss,
    mlpNames(tape, X, params, loss),
    params,
    results.map(parameterNote),
    `${heading}\nhand-derived vs tape vs finite differences: ${ok ? 'all agree' : 'MISMATCH'}`,
  );
  if (args.json) {
    console.log(
      JSON.stringify(
        { ok, loss: loss.item(), network: sizes, activation: args.activation, lossName: args.loss, batch: args.batch, parameters: results },
        null,
        2,
      ),
    );
    return { code: ok ? 0 : 1, graph };
  }
  console.log(`${heading}\n`);
  for (const r of results) console.log(parameterTable(r));
  console.log(ok ? `all ${results.length} parameters agree: hand-derived = tape = finite differences` : 'MISMATCH: see the tables above');
  return { code: ok ? 0 : 1, graph };
}

/**
 * Second derivatives of the network's loss: Hessian-vector products H v from the tape (the
 * gradient recorded with createGraph, then differentiated along v) against central differences of
 * the tape's gradient, (g(θ + εv) - g(θ - εv)) / 2ε, for one random direction v over all parameters.
 * At a kink (a hinge margin or a relu crossing 0 within ε) an analytic value between the one-sided
 * differences is accepted.
 */
/** What a second-derivative check differentiates: named parameters, the loss as their function, and how to describe it. */
export interface Subject {
  rng: Rng;
  names: string[];
  params: Tensor[];
  lossOf: (t: Tape, ...p: Tensor[]) => Tensor;
  /** The first line of the report, and what the JSON says of the network. */
  header: string;
  about: Record<string, unknown>;
  /** Names for the tensors of the loss's tape, in the picture (by default the parameters' names). */
  nameTensors?: (tape: Tape, loss: Tensor) => Map<Tensor, string>;
}

function checkHessian({ rng, names, params, lossOf, header, about, nameTensors }: Subject, json: boolean): Checked {
  const eps = 1e-6,
    atol = 1e-5,
    rtol = 1e-3;
  const vs = params.map((p) => rng.randn(p.shape, { dtype: 'float64' }));
  const tape = new Tape();
  const loss = lossOf(tape, ...params);
  const forward = tape.records.length; // hvp records the backward pass after these
  const Hv = hvp((t, ...p) => lossOf(t, ...p), params, vs, tape).map((h) => h.toFlatArray());
  const gradientAt = (s: number) => {
    const moved = params.map(
      (p, i) =>
        new Tensor(
          kernels.zip(p.array, vs[i].array, p.shape, (w, v) => w + s * v),
          { requiresGrad: true },
        ),
    );
    const t = new Tape();
    return t.gradients(lossOf(t, ...moved), moved).map((g) => g.toFlatArray());
  };
  const [plus, base, minus] = [gradientAt(eps), gradientAt(0), gradientAt(-eps)];
  const results = params.map((p, i) => {
    let maxAbs = 0,
      maxRel = 0,
      worst = 0,
      worstRank = -1,
      kinks = 0,
      ok = true;
    Hv[i].forEach((a, j) => {
      const numeric = (plus[i][j] - minus[i][j]) / (2 * eps),
        err = Math.abs(a - numeric),
        tol = atol + rtol * Math.abs(numeric);
      let fine = err <= tol;
      if (!fine) {
        const right = (plus[i][j] - base[i][j]) / eps,
          left = (base[i][j] - minus[i][j]) / eps;
        fine = a >= Math.min(left, right) - tol && a <= Math.max(left, right) + tol;
        if (fine) kinks++;
      }
      ok &&= fine;
      maxAbs = Math.max(maxAbs, err);
      maxRel = Math.max(maxRel, err / Math.max(Math.abs(a), Math.abs(numeric), Number.MIN_VALUE));
      const rank = (fine ? 0 : 1e12) + err / tol;
      if (rank > worstRank) [worstRank, worst] = [rank, j];
    });
    return {
      name: names[i],
      shape: p.shape,
      ok,
      kinks,
      maxAbs,
      maxRel,
      worst: kernels.unravel(worst, p.shape),
      tape: Hv[i][worst],
      numeric: (plus[i][worst] - minus[i][worst]) / (2 * eps),
    };
  });
  const ok = results.every((r) => r.ok);
  const tensorNames = nameTensors?.(tape, loss) ?? new Map<Tensor, string>([...params.map((p, i) => [p, names[i]] as const), [loss, 'loss']]);
  const notes = results.map((r) => ({ ok: r.ok, lines: [`H v: max rel ${sci(r.maxRel)} ${r.ok ? 'ok' : 'MISMATCH'}`] }));
  const graph = checkGraph(
    tape,
    forward,
    loss,
    tensorNames,
    params,
    notes,
    `${header}\nHessian-vector products, tape vs finite differences: ${ok ? 'all agree' : 'MISMATCH'}`,
  );
  if (json) {
    console.log(JSON.stringify({ ok, order: 2, loss: loss.item(), ...about, parameters: results }, null, 2));
    return { code: ok ? 0 : 1, graph };
  }
  console.log(`${header}: loss ${loss.item().toPrecision(8)}`);
  console.log(
    `Hessian-vector products H v along one random direction v over all parameters: tape (createGraph) vs central differences of the gradient (eps ${eps})\n`,
  );
  console.log(
    table(
      ['parameter', 'max abs', 'max rel', 'worst at', 'tape', 'numeric', 'verdict'],
      results.map((r) => [
        `${r.name} [${r.shape.join(',')}]`,
        sci(r.maxAbs),
        sci(r.maxRel),
        `[${r.worst.join(',')}]`,
        r.tape.toPrecision(8),
        r.numeric.toPrecision(8),
        r.ok ? (r.kinks ? `ok, ${r.kinks} at a kink` : 'ok') : 'MISMATCH',
      ]),
    ),
  );
  console.log(`\n${ok ? `all ${results.length} parameters agree: H v from the tape = finite differences of the gradient` : 'MISMATCH: see the table above'}`);
  return { code: ok ? 0 : 1, graph };
}
