/**
 * The tape: a plain array of records in execution order. Backward walks it once in reverse,
 * so there is no recursive topological sort and no stack limit on depth.
 */
import * as ops from './ops/index.ts';
import * as k from './kernels/index.ts';
import { formatShape, Tensor } from './tensor.ts';
import type { Gradients, Op } from './op.ts';
import { toDot, toSvg, type DrawOptions } from './draw.ts';

/** One executed op: enough to apply its chain rule later. */
export interface TapeRecord {
  /** The op that ran. */
  readonly op: Op;
  /** Its arguments, tensors and others, as passed. */
  readonly args: readonly unknown[];
  /** Its output. */
  readonly out: Tensor;
  /** Its chain rule: the gradients of the arguments from the output's gradient (null where `needs` is false). */
  readonly backward: (grad: Tensor, needs: readonly boolean[], t: Tape) => Gradients;
  /** The tensors backward reads, and their versions when the op ran: backward checks they are unchanged. */
  readonly saved: readonly Tensor[];
  readonly versions: readonly number[];
}

/** Options of `new Tape(options)`. */
export interface TapeOptions {
  /** Check every op's output for NaN and infinities, and name the op and index where one appears. */
  checkFinite?: boolean;
}

/** Options of `tape.backward` and `tape.gradients`. */
export interface BackwardOptions {
  /** dl/dout for a non-scalar output; defaults to 1 for a one-element output. */
  grad?: Tensor;
  /** Add to the leaves' existing `.grad` instead of replacing it (`backward` only). */
  accumulate?: boolean;
  /**
   * Record the backward pass on this tape, so that the gradients it returns can be differentiated
   * again (Hessian-vector products, gradient penalties, `grad(grad(f))`). Off, backward records
   * nothing and runs the same kernels.
   */
  createGraph?: boolean;
  /** Called for each record as backward reaches it (for printing a backward pass step by step). */
  onStep?: (record: TapeRecord, grad: Tensor, inputGrads: Gradients) => void;
}

/** Whether an op's argument (a tensor, or an array of them) has something a gradient should reach. */
const wantsGrad = (a: unknown): boolean => (a instanceof Tensor ? a.requiresGrad : Array.isArray(a) && a.some((x) => x instanceof Tensor && x.requiresGrad));

type Bound<O> = { [K in keyof O]: O[K] extends Op<infer A> ? (...args: A) => Tensor : never };
type BuiltinOps = Bound<typeof ops>;

/** The tensors among an op's arguments, and in its arguments that are arrays: what its backward may read, by default. */
function tensorsIn(args: readonly unknown[]): Tensor[] {
  const found: Tensor[] = [];
  for (const a of args) {
    if (a instanceof Tensor) found.push(a);
    else if (Array.isArray(a)) for (const x of a) if (x instanceof Tensor) found.push(x);
  }
  return found;
}

/** The error for a saved tensor written in place after its op ran (PyTorch's "modified by an inplace operation"). */
function modifiedInPlace(record: TapeRecord, i: number): Error {
  const x = record.saved[i],
    name = record.op.name;
  const what = x.name ? `'${x.name}' ${formatShape(x.shape)}` : `the ${formatShape(x.shape)} ${x.dtype} tensor made by ${x.madeBy}`;
  return new Error(
    `backward: ${name} saved ${what} at version ${record.versions[i]}, but it was modified in place since (now version ${x.version}); call backward before changing it (an optimiser step, update, assign), or run the forward pass again`,
  );
}

/** Argument i of an op, or element j of it (an array of tensors), in errors. */
const inputName = (i: number, j: number): string => (j < 0 ? `${i}` : `${i}[${j}]`);

// The built-in ops as methods, `tape.matmul(a, b)`, each a call of `apply`; the ops know nothing of tapes.
export interface Tape extends BuiltinOps {}

/**
 * Records ops as they run, then backpropagates through them. Create one per forward pass,
 * call `backward`, and drop it; tapes share nothing, so several can live side by side.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the loop at the end of this file defines BuiltinOps' methods on the prototype
export class Tape {
  /** What ran, in execution order. */
  readonly records: TapeRecord[] = [];
  private recording = true;
  private readonly checkFinite: boolean;
  /** Ops run through this tape, recorded or not: tells a backward written with ops from one on raw arrays. */
  private applied = 0;

  constructor(options: TapeOptions = {}) {
    this.checkFinite = options.checkFinite ?? false;
  }

  /**
   * Runs an op (built-in or user-defined) and records it if any tensor argument requires a
   * gradient. An argument may also be an array of tensors (`t.concat([a, b, c], 1)`): each of them
   * is tracked, and the op's backward returns an array of gradients in that argument's place.
   */
  apply<A extends unknown[]>(op: Op<A>, ...args: A): Tensor {
    return this.run(op, args);
  }

  /** `apply` with the arguments as one array: the ops' methods (below) pass theirs on without a second copy. */
  /** @internal */
  run<A extends unknown[]>(op: Op<A>, args: A): Tensor {
    const { out, backward, saves } = op.forward(...args);
    this.applied++;
    out.madeBy = op.name;
    if (this.checkFinite) {
      const at = k.firstNonFinite(out.array);
      if (at) throw new Error(`${op.name}: output has a non-finite value (${out.get(...at)}) at ${formatShape(at)}`);
    }
    if (this.recording && args.some(wantsGrad)) {
      out.requiresGrad = true;
      const saved = saves ?? tensorsIn(args);
      const versions = new Array<number>(saved.length);
      for (let i = 0; i < saved.length; i++) versions[i] = saved[i].version;
      this.records.push({ op: op as Op, args, out, backward, saved, versions });
    }
    return out;
  }

  /** Runs `fn` without recording (inference): its outputs are constants. */
  noRecord<T>(fn: () => T): T {
    const was = this.recording;
    this.recording = false;
    try {
      return fn();
    } finally {
      this.recording = was;
    }
  }

  /**
   * Backpropagates from `output` and sets `.grad` on every leaf that requires one (replacing any
   * earlier value, or adding to it with { accumulate: true }). Gradients of a tensor used several
   * times are summed. A leaf holds its gradient's memory, so `.grad` outlives the scope backward ran in.
   */
  backward(output: Tensor, options: BackwardOptions = {}): void {
    const grads = this.propagate(output, options);
    const produced = new Set(this.records.map((r) => r.out));
    for (const [t, g] of grads) {
      if (produced.has(t) || !t.requiresGrad) continue;
      const prev = options.accumulate ? t.grad : null;
      t.grad = prev
        ? new Tensor(
            k.zip(prev.array, g.array, t.shape, (a, b) => a + b),
            { madeBy: 'backward (accumulated)' },
          )
        : g;
    }
  }

  /** dl/dx for each tensor of `wrt` (leaves or intermediates), zeros where `output` does not depend on it. */
  gradients(output: Tensor, wrt: readonly Tensor[], options: BackwardOptions = {}): Tensor[] {
    const grads = this.propagate(output, options);
    return wrt.map((t) => grads.get(t) ?? new Tensor(k.empty(t.dtype, t.shape)));
  }

  private propagate(output: Tensor, options: BackwardOptions): Map<Tensor, Tensor> {
    // The ops a backward is written with: recorded on this tape for a second derivative, else run plainly.
    const t = options.createGraph ? this : new Tape();
    if (!options.createGraph) t.recording = false;
    const seed = options.grad ?? this.unitGrad(output);
    if (!k.sameShape(seed.shape, output.shape)) {
      throw new Error(`backward: the upstream gradient has shape ${formatShape(seed.shape)} but the output has ${formatShape(output.shape)}`);
    }
    if (output.size === 1 && !Number.isFinite(output.item())) {
      throw new Error(`backward: the output is ${output.item()}; create the tape with { checkFinite: true } to find the op that made it`);
    }
    const grads = new Map<Tensor, Tensor>([[output, seed]]);
    // Records appended below (the backward pass itself, with createGraph) are not walked now.
    for (let r = this.records.length - 1; r >= 0; r--) {
      const record = this.records[r];
      const g = grads.get(record.out);
      if (!g) continue;
      if (record.out.released) throw this.releasedTape(record);
      for (let i = 0; i < record.saved.length; i++) if (record.saved[i].version !== record.versions[i]) throw modifiedInPlace(record, i);
      const before = t.applied;
      const needs = record.args.map(wantsGrad);
      const inputGrads = record.backward(g, needs, t);
      const withOps = t.applied > before;
      options.onStep?.(record, g, inputGrads);
      // Plain loops and a method, not closures: this runs once per record of every training step.
      for (let i = 0; i < record.args.length; i++) {
        if (!needs[i]) continue;
        const arg = record.args[i],
          gi = inputGrads[i];
        if (!Array.isArray(arg)) this.addGrad(grads, t, record, g, withOps, options, arg, gi, i, -1);
        else for (let j = 0; j < arg.length; j++) this.addGrad(grads, t, record, g, withOps, options, arg[j], Array.isArray(gi) ? gi[j] : undefined, i, j);
      }
    }
    return grads;
  }

  /** Adds one input's gradient `given` (argument i, or element j of argument i) into `grads`, after checking it. */
  private addGrad(
    grads: Map<Tensor, Tensor>,
    t: Tape,
    record: TapeRecord,
    g: Tensor,
    withOps: boolean,
    options: BackwardOptions,
    arg: unknown,
    given: unknown,
    i: number,
    j: number,
  ): void {
    if (!(arg instanceof Tensor) || !arg.requiresGrad) return;
    if (!(given instanceof Tensor)) throw new Error(`${record.op.name}: backward returned no gradient for input ${inputName(i, j)}, which requires one`);
    let gi = given;
    if (!k.sameShape(gi.shape, arg.shape)) {
      throw new Error(
        `${record.op.name}: gradient for input ${inputName(i, j)} has shape ${formatShape(gi.shape)} but the input has shape ${formatShape(arg.shape)}`,
      );
    }
    if (options.createGraph && !withOps && gi !== g) gi = this.onceDifferentiable(record, gi);
    const prev = grads.get(arg);
    grads.set(arg, prev ? t.add(prev, gi) : gi);
  }

  /**
   * A gradient that a backward computed on raw arrays (it ran none of the ops it was given): its
   * value is right, but the tape cannot see how it depends on anything. It is recorded as the output
   * of a step whose backward is an error naming the op, so that a second derivative through it
   * fails instead of coming out silently zero.
   */
  private onceDifferentiable(record: TapeRecord, gi: Tensor): Tensor {
    const out = new Tensor(gi.array, { madeBy: `the backward of ${record.op.name}` });
    out.requiresGrad = true;
    const name = record.op.name;
    this.records.push({
      op: {
        name: `${name} (once differentiable)`,
        forward: () => {
          throw new Error('not an op to run');
        },
      },
      args: record.args,
      out,
      saved: [],
      versions: [],
      backward: () => {
        throw new Error(
          `${name}: its backward computes on raw arrays, so it can be differentiated only once; write the backward with the ops it is given (t.mul, t.matmul, ...) to take a second derivative through it`,
        );
      },
    });
    return out;
  }

  /** The recorded graph as Graphviz DOT text: ops, tensors, values and gradients (draw.ts). */
  toDot(options?: DrawOptions): string {
    return toDot(this, options);
  }

  /** The recorded graph as SVG, laid out by Graphviz (loaded on the first call). */
  toSvg(options?: DrawOptions): Promise<string> {
    return toSvg(this, options);
  }

  /** The error for a tape whose tensors were freed: its forward pass ran in a scope that has ended. */
  private releasedTape(record: TapeRecord): Error {
    return new Error(
      `backward: the output of ${record.op.name} ${formatShape(record.out.shape)} on this tape was freed when the scope of the forward pass ended; run backward inside that scope (a tape's tensors belong to the scope they were made in)`,
    );
  }

  private unitGrad(output: Tensor): Tensor {
    if (output.size !== 1) {
      throw new Error(`backward: the output has shape ${formatShape(output.shape)}, not one element: pass the upstream gradient as { grad }`);
    }
    const g = new Tensor(k.empty(output.dtype, output.shape));
    g.array.data.fill(1);
    return g;
  }
}

for (const [name, op] of Object.entries(ops)) {
  Object.defineProperty(Tape.prototype, name, {
    value: function (this: Tape, ...args: unknown[]) {
      return this.run(op as Op, args);
    },
  });
}
