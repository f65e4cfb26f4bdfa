import type { NdArray } from './tensor.ts';
import { formatShape, Tensor, tensor } from './tensor.ts';
import { broadcastShape } from './kernels/index.ts';
import type { Tape } from './tape.ts';

/**
 * One gradient per argument of the op, null (or absent) for an argument that gets none; for an
 * argument that is an array of tensors (`concat`'s inputs), an array of their gradients.
 */
export type Gradients = readonly (Tensor | null | undefined | readonly (Tensor | null | undefined)[])[];

/** What an op's forward returns: its output and, beside it, the chain rule that closes over what it saved. */
export interface Forward {
  out: Tensor;
  /**
   * Given dl/dout, returns dl/darg for each argument, in order. `needs[i]` says whether argument
   * i (or, for an array of tensors, any of them) wants a gradient at all, so an op can skip work (a matmul need not compute dl/dX for data).
   * A backward written with the ops of `t` (`t.matmul(g, t.transpose(b))`) is differentiable again:
   * `t` records them when backward runs with { createGraph: true }, and runs them unrecorded (the
   * same kernels) otherwise. A backward computed on raw arrays is differentiable once: a second
   * derivative through it is an error naming the op.
   *
   * The built-in ops write it as a method (`backward(g, needs, t) { ... }`), not an arrow property:
   * esbuild's keepNames (tsx, vitest) wraps a named arrow in a `__name` call each time it is created,
   * which is once per op call here.
   */
  backward: (grad: Tensor, needs: readonly boolean[], t: Tape) => Gradients;
  /**
   * The tensors whose values backward reads (PyTorch's save_for_backward), when not every tensor
   * argument: the tape notes their versions and refuses to run backward once one was changed in
   * place. An op that reads its output (exp's backward is g·y) lists it; one that reads only shapes
   * (add, reshape) lists none.
   */
  saves?: readonly Tensor[];
}

/** A differentiable operation: a name (for errors and `--explain`) and a forward that returns its backward. */
export interface Op<A extends unknown[] = unknown[]> {
  readonly name: string;
  forward(...args: A): Forward;
  /** The local rule in words, for printing a backward pass step by step. */
  readonly rule?: string;
}

/**
 * Defines an op. Built-in ops and user-defined ops use this same mechanism; a tape runs either
 * with `tape.apply(op, ...args)`.
 */
export function defineOp<A extends unknown[]>(name: string, forward: (...args: A) => Forward, rule?: string): Op<A> {
  return { name, forward, rule };
}

/** A tensor or a plain number (broadcast as a 0-D tensor). */
export type Operand = Tensor | number;

export function wrap(a: NdArray): Tensor {
  return new Tensor(a);
}

/** `x` as a tensor of `like`'s dtype. */
export function operand(x: Operand, like: Operand): Tensor {
  if (x instanceof Tensor) return x;
  return tensor(x, { dtype: like instanceof Tensor ? like.dtype : 'float32' });
}

export function expectSameDtype(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) {
    throw new Error(`${op}: cannot mix ${a.dtype} and ${b.dtype}; convert one with .clone('${a.dtype}')`);
  }
}

export function expectRank(op: string, what: string, x: Tensor, rank: number): void {
  if (x.rank !== rank) {
    throw new Error(`${op}: ${what} must be ${rank}-D, got shape ${formatShape(x.shape)}`);
  }
}

/** The broadcast shape of two operands, or an error naming the op, both shapes and the disagreeing sizes. */
export function broadcastOrThrow(op: string, a: Tensor, b: Tensor): number[] {
  const shape = broadcastShape(a.shape, b.shape);
  if (shape) return shape;
  const n = Math.max(a.rank, b.rank);
  for (let i = 0; i < n; i++) {
    const da = a.shape[a.rank - n + i] ?? 1,
      db = b.shape[b.rank - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: cannot broadcast ${formatShape(a.shape)} with ${formatShape(b.shape)}: ${da} != ${db}`);
    }
  }
  throw new Error(`${op}: cannot broadcast ${formatShape(a.shape)} with ${formatShape(b.shape)}`);
}

/** Validates integer class labels for a [n, k] score matrix. */
export function labelsFor(op: string, scores: Tensor, labels: ArrayLike<number>): ArrayLike<number> {
  expectRank(op, 'scores', scores, 2);
  const [n, k] = scores.shape;
  if (labels.length !== n) {
    throw new Error(`${op}: ${labels.length} labels for ${n} rows of scores ${formatShape(scores.shape)}`);
  }
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= k) {
      throw new Error(`${op}: label ${y} at row ${i} is not a class index in [0, ${k})`);
    }
  }
  return labels;
}

/** Normalises a possibly negative axis and checks it is in range. */
export function axisOf(op: string, x: Tensor, axis: number): number {
  const a = axis < 0 ? axis + x.rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= x.rank) {
    throw new Error(`${op}: axis ${axis} is out of range for shape ${formatShape(x.shape)}`);
  }
  return a;
}
