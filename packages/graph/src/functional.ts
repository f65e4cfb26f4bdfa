/**
 * Derivatives as functions, built on the tape's backward with { createGraph: true }: `grad`
 * composes (`grad(grad(f))`), `vjp` and `jvp` give products with the Jacobian, `hvp` with the
 * Hessian, and `jacobian` and `hessian` the whole matrices of small functions.
 *
 * A function takes the tape first, `(t, ...xs) => t.sum(t.tanh(xs[0]))`, so that derivatives of
 * derivatives are recorded on one tape. `jvp` uses the double-vjp trick: J v is the gradient, with
 * respect to a dummy u, of <v, J^T u>, which is linear in u: two backward passes and no rules of
 * its own per op (forward-mode rules would be a second definition of every op).
 */
import { Tape } from './tape.ts';
import { formatShape, Tensor, zeros } from './tensor.ts';
import * as k from './kernels/index.ts';

/** A function of tensors recorded on the given tape. */
export type Fn = (t: Tape, ...xs: Tensor[]) => Tensor;

/** `x` itself when the tape tracks it, else a leaf over the same values that it does. */
const tracked = (x: Tensor) => (x.requiresGrad ? x : new Tensor(x.array, { requiresGrad: true, name: x.name, madeBy: x.madeBy }));

function scalar(what: string, out: Tensor): Tensor {
  if (out.size !== 1)
    throw new Error(`${what}: the function must return one value, got shape ${formatShape(out.shape)}; use vjp or jacobian for other outputs`);
  return out;
}

/** Σ_i sum(a_i * b_i) on the tape: the inner product of two lists of tensors. */
function dot(t: Tape, a: readonly Tensor[], b: readonly Tensor[]): Tensor {
  return a.map((x, i) => t.sum(t.mul(x, b[i]))).reduce((p, q) => t.add(p, q));
}

function sameShapes(what: string, xs: readonly Tensor[], vs: readonly Tensor[], of: string): void {
  if (vs.length !== xs.length || vs.some((v, i) => !k.sameShape(v.shape, xs[i].shape))) {
    throw new Error(
      `${what}: need one ${of} per input, of its shape: got ${vs.map((v) => formatShape(v.shape)).join(', ')} for ${xs.map((x) => formatShape(x.shape)).join(', ')}`,
    );
  }
}

/**
 * The gradient of a scalar function with respect to its input `argnum`, as a function of the same
 * inputs: recorded on the tape, so `grad(grad(f))` is the second derivative (of a scalar input).
 */
export function grad(f: Fn, argnum = 0): Fn {
  return (t, ...xs) => {
    const ins = xs.slice();
    ins[argnum] = tracked(xs[argnum]);
    return t.gradients(scalar('grad', f(t, ...ins)), [ins[argnum]], { createGraph: true })[0];
  };
}

/** f(xs) and v^T J: the gradients of <v, f(xs)> with respect to each input. */
export function vjp(f: Fn, xs: readonly Tensor[], v: Tensor, t = new Tape()): { out: Tensor; grads: Tensor[] } {
  const ins = xs.map(tracked);
  const out = f(t, ...ins);
  if (!k.sameShape(v.shape, out.shape)) throw new Error(`vjp: v has shape ${formatShape(v.shape)} but the output has ${formatShape(out.shape)}`);
  return { out, grads: t.gradients(out, ins, { grad: v, createGraph: true }) };
}

/** f(xs) and J v for tangents v (one per input), by the double-vjp trick (see above). */
export function jvp(f: Fn, xs: readonly Tensor[], tangents: readonly Tensor[], t = new Tape()): { out: Tensor; tangent: Tensor } {
  sameShapes('jvp', xs, tangents, 'tangent');
  const ins = xs.map(tracked);
  const out = f(t, ...ins);
  const u = zeros(out.shape, { dtype: out.dtype, requiresGrad: true, name: 'u' });
  const vjps = t.gradients(out, ins, { grad: u, createGraph: true });
  return { out, tangent: t.gradients(dot(t, vjps, tangents), [u], { createGraph: true })[0] };
}

/** H v for a scalar function: the Hessian (with respect to all inputs) times v (one tensor per input). */
export function hvp(f: Fn, xs: readonly Tensor[], vs: readonly Tensor[], t = new Tape()): Tensor[] {
  sameShapes('hvp', xs, vs, 'vector');
  const ins = xs.map(tracked);
  const gs = t.gradients(scalar('hvp', f(t, ...ins)), ins, { createGraph: true });
  return t.gradients(dot(t, gs, vs), ins, { createGraph: true });
}

/** The one-hot tensors of `shape`, one per entry, in row-major order (of x's dtype). */
function* basis(like: Tensor): Generator<Tensor> {
  for (let i = 0; i < like.size; i++) {
    const e = zeros(like.shape, { dtype: like.dtype });
    e.array.data[i] = 1;
    yield e;
  }
}

/** The Jacobian of f at x: [out.size, x.size], row i the gradient of output entry i. One backward pass per output entry. */
export function jacobian(f: Fn, x: Tensor): Tensor {
  const t = new Tape();
  const xin = tracked(x);
  const out = f(t, xin);
  const J = zeros([out.size, x.size], { dtype: x.dtype });
  let row = 0;
  for (const e of basis(out)) J.array.data.set(k.flat(t.gradients(out, [xin], { grad: e })[0].array), row++ * x.size);
  return J;
}

/** The Hessian of a scalar f at x: [x.size, x.size], by one Hessian-vector product per entry of x. For small inputs. */
export function hessian(f: Fn, x: Tensor): Tensor {
  const t = new Tape();
  const xin = tracked(x);
  const g = t.gradients(scalar('hessian', f(t, xin)), [xin], { createGraph: true })[0];
  const H = zeros([x.size, x.size], { dtype: x.dtype });
  let row = 0;
  for (const e of basis(x)) H.array.data.set(k.flat(t.gradients(g, [xin], { grad: e })[0].array), row++ * x.size);
  return H;
}
