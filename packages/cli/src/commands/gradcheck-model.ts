/**
 * `backprop gradcheck --model FILE`: a model file's network in float64, on one batch, in training
 * mode (what training differentiates: dropout with one fixed mask, batch statistics, the running
 * ones left alone). For every parameter, the tape against central differences and, when the file
 * exports its own backward pass, that pass against both. When the hand-derived pass also gives the
 * gradients of values the forward names (each layer's dl/dH), they are compared with the tape's
 * from the loss backwards, and the first that disagrees is named: where the derivation slipped.
 */
import { gradcheck, kernels, Rng, Tape, Tensor } from '@backprop/graph';
import {
  batchLoss,
  loadMnist,
  lossAndGradient,
  lossOnTape,
  ModelNetwork,
  type HandBackwardResult,
  type InitName,
  type LossName,
  type ModelFile,
} from '@backprop/mlp';
import { checkGraph, compare, HAND_RTOL, parameterNote, parameterTable, sci, type Checked, type Pair, type ParameterCheck, type Subject } from './gradcheck.ts';
import { table } from '../format.ts';
import { openModelFile } from '../run/modelfile.ts';

interface ModelArgs {
  model: string;
  /** `--model-option`s: the options a file that exports a function of options is called with (its defaults otherwise). */
  options?: Record<string, unknown>;
  /** A built-in loss, or `model`, the file's own; by default the file's own when it exports one (what it trains on), else hinge. */
  loss?: LossName | 'model';
  batch: number;
  seed: number;
  init?: InitName;
  random?: boolean;
  'full-limit': number;
  json?: boolean;
}

/** A value the forward names, and how the hand-derived pass's dl/dv compares with the tape's. */
interface ValueCheck {
  name: string;
  shape: number[];
  given: boolean;
  handVsTape?: Pair;
  ok: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The model file's network in float64, a batch, and its loss in training mode as a function of the parameters. */
async function setup(args: ModelArgs) {
  const model = await openModelFile(args.model, { options: args.options });
  const rng = Rng.seeded(args.seed);
  const net = new ModelNetwork(model, rng, { init: args.init, dtype: 'float64' });
  const { X, y } = batchOf(net, model, args, rng);
  const mode = (values?: Map<string, Tensor>) => ({ training: true, rng: Rng.seeded(args.seed + 1), updateState: false, values });
  const own = model.definition.loss;
  // The loss the file trains on: its own when it exports one, unless --loss names another.
  const loss = args.loss ?? (own ? 'model' : 'hinge');
  if (loss === 'model' && !own) throw new Error(`--loss model: ${model.path} exports no loss(t, outputs, targets); use hinge, ce or mse`);
  const targets = loss === 'model' ? targetsOf(model, net, X, y, mode(), rng, args) : { y };
  const lossOn = (t: Tape, S: Tensor) => (loss === 'model' ? batchLoss(t, 'model', S, targets, own) : lossOnTape(t, loss, S, y));
  const lossOf = (t: Tape, ...p: Tensor[]) => lossOn(t, net.forwardWith(t, p, X, mode()));
  return { model, rng, net, X, y, targets, loss, lossOn, mode, lossOf, names: [...net.params.keys()], params: net.parameters() };
}

/**
 * What the file's own loss is given: the batch's labels, or, on random inputs for a network of one
 * output or a loss that refuses labels (a regression network's), random float targets Y [n, outputs].
 */
function targetsOf(
  model: ModelFile,
  net: ModelNetwork,
  X: Tensor,
  y: ArrayLike<number>,
  mode: { training: boolean; rng: Rng; updateState: boolean },
  rng: Rng,
  args: ModelArgs,
): { y: ArrayLike<number>; Y?: Tensor } {
  const tryWith = (targets: { y: ArrayLike<number>; Y?: Tensor }) => {
    const t = new Tape();
    batchLoss(t, 'model', net.forwardWith(t, net.parameters(), X, mode), targets, model.definition.loss);
  };
  // One output cannot score classes: a regression network, whose loss takes float targets.
  if (args.random && net.outputSize === 1) return { y, Y: rng.randn([args.batch, 1], { dtype: 'float64' }) };
  try {
    tryWith({ y });
    return { y };
  } catch (e) {
    const onLabels = (e as Error).message;
    if (!args.random) throw new Error(`${model.path}: its loss failed on the batch's labels: ${onLabels}`);
    const Y = rng.randn([args.batch, net.outputSize], { dtype: 'float64' });
    try {
      tryWith({ y, Y });
    } catch (e2) {
      throw new Error(
        `${model.path}: its loss failed on random labels (${onLabels}) and on random float targets [n, ${net.outputSize}] (${(e2 as Error).message})`,
      );
    }
    return { y, Y };
  }
}

/** "hinge loss", or "its own loss" (the file's). */
const lossText = (loss: LossName | 'model') => (loss === 'model' ? 'its own loss' : `${loss} loss`);

/** The first line of a report: the file, what it says it is, the loss, and the batch. */
function headerOf(model: ModelFile, args: ModelArgs, loss: LossName | 'model', regression = false): string {
  const description = model.definition.description ? ` (${model.definition.description})` : '';
  const batch = args.random ? `random inputs${regression ? ' and float targets' : ''}` : 'MNIST images';
  return `${model.path}${description}: ${lossText(loss)}, batch of ${args.batch} ${batch}, seed ${args.seed}, training mode`;
}

/** What `--order 2` checks of a model file: Hessian-vector products of its loss. */
export async function modelSubject(args: ModelArgs): Promise<Subject> {
  const { model, rng, names, params, lossOf, loss, targets } = await setup(args);
  return {
    rng,
    names,
    params,
    lossOf,
    header: headerOf(model, args, loss, targets.Y !== undefined),
    about: { model: model.path, sha256: model.sha256, lossName: loss, batch: args.batch },
  };
}

export async function checkModelFile(args: ModelArgs): Promise<Checked> {
  const { model, net, X, y, mode, lossOf, lossOn, names, params, loss: lossName, targets } = await setup(args);
  const def = model.definition;

  const tape = new Tape(),
    values = new Map<string, Tensor>();
  const S = net.forwardWith(tape, params, X, mode(values));
  const loss = lossOn(tape, S);
  const grads = tape.gradients(loss, [...params, ...values.values()]);
  const tapeGrads = grads.slice(0, params.length),
    tapeValueGrads = new Map([...values.keys()].map((name, i) => [name, grads[params.length + i]]));
  const options = { fullLimit: args['full-limit'], seed: args.seed };
  const tapeVsNumeric = gradcheck(lossOf, params, options).inputs;
  const hand = def.backward ? handPass(model, net, X, y, lossName, S, values, targets) : undefined;
  const handGrads = hand && names.map((name) => hand.grads[name]);
  const handVsNumeric = handGrads && gradcheck(lossOf, params, { ...options, against: handGrads }).inputs;

  const parameters: ParameterCheck[] = params.map((p, i) => {
    const handVsTape = handGrads && compare(handGrads[i], tapeGrads[i]);
    const ok = tapeVsNumeric[i].ok && (!handVsTape || (handVsTape.maxRel <= HAND_RTOL && handVsNumeric![i].ok));
    return {
      name: names[i],
      shape: p.shape,
      mode: tapeVsNumeric[i].mode,
      checked: tapeVsNumeric[i].checked,
      handVsTape,
      tapeVsNumeric: tapeVsNumeric[i],
      handVsNumeric: handVsNumeric?.[i],
      ok,
    };
  });
  // From the loss backwards: the value named last is the nearest to the loss.
  const named: ValueCheck[] = [...values].reverse().map(([name, v]) => {
    const given = hand?.valueGrads?.[name];
    const handVsTape = given && compare(given, tapeValueGrads.get(name)!);
    return { name, shape: v.shape, given: !!given, handVsTape, ok: !handVsTape || handVsTape.maxRel <= HAND_RTOL };
  });
  const first = named.find((v) => !v.ok);
  const ok = parameters.every((r) => r.ok) && !first;
  // The picture: the parameters and the values the forward names, by their names.
  const tensorNames = new Map<Tensor, string>([
    [X, 'X'],
    [loss, 'loss'],
    ...[...values].map(([name, v]) => [v, name] as const),
    ...params.map((p, i) => [p, names[i]] as const),
  ]);
  const graph = checkGraph(
    tape,
    tape.records.length,
    loss,
    tensorNames,
    params,
    parameters.map(parameterNote),
    `${headerOf(model, args, lossName, targets.Y !== undefined)}: loss ${loss.item().toPrecision(8)}\n${ok ? 'all agree' : 'MISMATCH'}`,
  );
  if (args.json) {
    console.log(
      JSON.stringify(
        {
          ok,
          loss: loss.item(),
          model: model.path,
          sha256: model.sha256,
          ...(model.options && { options: model.options }),
          lossName,
          batch: args.batch,
          hand: !!hand,
          parameters,
          values: named,
          firstDisagreement: first ? { name: first.name, at: first.handVsTape!.worst, hand: first.handVsTape!.a, tape: first.handVsTape!.b } : null,
        },
        null,
        2,
      ),
    );
    return { code: ok ? 0 : 1, graph };
  }
  console.log(`${headerOf(model, args, lossName, targets.Y !== undefined)}: loss ${loss.item().toPrecision(8)}`);
  if (!hand) console.log('(the file exports no backward pass: the tape against central differences only)');
  console.log('');
  for (const r of parameters) console.log(parameterTable(r));
  if (hand && named.length) {
    console.log('dl/dv of the values the forward names, from the loss backwards: hand vs tape');
    console.log(
      table(
        ['  value', 'max abs', 'max rel', 'worst at', 'hand', 'tape', 'verdict'],
        named.map((v) => {
          const c = v.handVsTape;
          if (!c) return [`  ${v.name} [${v.shape.join(',')}]`, '', '', '', '', '', 'not given'];
          return [
            `  ${v.name} [${v.shape.join(',')}]`,
            sci(c.maxAbs),
            sci(c.maxRel),
            `[${c.worst.join(',')}]`,
            c.a.toPrecision(6),
            c.b.toPrecision(6),
            v.ok ? 'ok' : 'MISMATCH',
          ];
        }),
      ) + '\n',
    );
  }
  if (first) {
    const c = first.handVsTape!;
    console.log(
      `MISMATCH: the first disagreement from the loss backwards is dl/d${first.name} [${first.shape.join(',')}]: worst at [${c.worst.join(',')}], hand ${c.a.toPrecision(8)}, tape ${c.b.toPrecision(8)}`,
    );
  } else if (!ok) console.log('MISMATCH: see the tables above');
  else if (!hand) console.log(`all ${parameters.length} parameters agree: tape = finite differences`);
  else {
    const given = named.filter((v) => v.given).length;
    console.log(
      `all ${parameters.length} parameters agree: hand-derived = tape = finite differences${given ? `; and dl/dv of the ${given} named value${given === 1 ? '' : 's'}: hand-derived = tape` : ''}`,
    );
  }
  return { code: ok ? 0 : 1, graph };
}

/** A batch in float64 of the model's input: MNIST images, or random inputs and labels with --random. */
function batchOf(net: ModelNetwork, model: ModelFile, args: ModelArgs, rng: Rng): { X: Tensor; y: ArrayLike<number> } {
  if (args.random) {
    return { X: rng.rand([args.batch, net.inputSize], { dtype: 'float64' }), y: Array.from({ length: args.batch }, () => rng.int(net.outputSize)) };
  }
  const { train } = loadMnist();
  if (net.inputSize !== train.features)
    throw new Error(
      `${model.path}: the model's input [${model.definition.input}] has ${net.inputSize} values, but MNIST images have ${train.features} pixels (or use --random)`,
    );
  if (net.outputSize < train.classes)
    throw new Error(`${model.path}: the model has ${net.outputSize} outputs, but MNIST has ${train.classes} classes (or use --random)`);
  return train.batch(
    Array.from({ length: args.batch }, () => rng.int(train.count)),
    'float64',
  );
}

/** dl/dS of the file's own loss at the scores S, from the tape. */
function ownLossGradient(model: ModelFile, S: Tensor, targets: { y: ArrayLike<number>; Y?: Tensor }): Tensor {
  const t = new Tape(),
    scores = new Tensor(S.array);
  return t.gradients(batchLoss(t, 'model', scores, targets, model.definition.loss), [scores])[0];
}

/**
 * Runs the file's own backward pass on the values of the tape's forward (as constants), with a tape
 * that records nothing, and checks what it returns: a gradient of every parameter's shape, and of
 * named values only.
 */
function handPass(
  model: ModelFile,
  net: ModelNetwork,
  X: Tensor,
  labels: ArrayLike<number>,
  loss: LossName | 'model',
  S: Tensor,
  values: Map<string, Tensor>,
  targets: { y: ArrayLike<number>; Y?: Tensor },
): HandBackwardResult {
  const def = model.definition,
    where = `${model.path}: backward`;
  const constant = (x: Tensor) => new Tensor(x.array);
  const t = new Tape();
  const Xin = t.noRecord(() => t.reshape(X, [X.shape[0], ...def.input]));
  // dl/dS: the built-in loss's hand-derived formula; the file's own loss has none, so its tape gives it.
  const dS = loss === 'model' ? ownLossGradient(model, S, targets) : new Tensor(lossAndGradient(loss, kernels.contiguous(S.array, 'float64'), labels).M);
  let result: unknown;
  try {
    result = t.noRecord(() =>
      def.backward!({
        t,
        p: Object.fromEntries([...net.params].map(([name, p]) => [name, constant(p)])),
        X: Xin,
        labels,
        loss,
        values: Object.fromEntries([...values].map(([name, v]) => [name, constant(v)])),
        S: constant(S),
        dS,
      }),
    );
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  if (!isObject(result) || !isObject(result.grads)) throw new Error(`${where} returned ${typeof result}, not { grads, valueGrads? }`);
  if (result.valueGrads !== undefined && !isObject(result.valueGrads))
    throw new Error(`${where}: valueGrads must be an object of tensors by the names the forward gives values`);
  const check = (group: 'grads' | 'valueGrads', known: Map<string, Tensor>, what: string) => {
    const given = (result as Record<string, Record<string, unknown>>)[group] ?? {};
    for (const [name, g] of Object.entries(given)) {
      const want = known.get(name);
      if (!want) throw new Error(`${where}: ${group}["${name}"]: there is no ${what} of that name (${[...known.keys()].join(', ') || 'none'})`);
      if (!(g instanceof Tensor)) throw new Error(`${where}: ${group}["${name}"] is not a tensor`);
      if (g.shape.join() !== want.shape.join()) throw new Error(`${where}: ${group}["${name}"] has shape [${g.shape}] but the ${what} has [${want.shape}]`);
    }
  };
  check('grads', net.params, 'parameter');
  check('valueGrads', values, 'value the forward names (ctx.name)');
  const missing = [...net.params.keys()].find((name) => !(name in (result as { grads: object }).grads));
  if (missing) throw new Error(`${where} gives no gradient of the parameter ${missing} (grads["${missing}"])`);
  return result as unknown as HandBackwardResult;
}
