/**
 * Einstein summation, numpy's einsum for subscripts of letters: 'ij,jk->ik' (a product),
 * 'bij,bkj->bik', 'ij->ji', 'ii->i' (a diagonal), 'ii->' (a trace), 'i,j->ij' (an outer product),
 * 'ij->j' (a reduction); without '->', the output is the letters named once, in alphabetical order.
 * Its backward is an einsum again, so gradients of gradients work.
 */
import * as k from '../kernels/index.ts';
import { formatShape, Tensor } from '../tensor.ts';
import { defineOp, expectSameDtype, wrap, type Gradients } from '../op.ts';
import type { Tape } from '../tape.ts';

/** A parsed spec: each operand's letters, the output's, and each letter's length. */
interface Subscripts {
  inputs: string[];
  output: string;
  sizes: Map<string, number>;
}

/** Parses `spec` against the operands' shapes, or throws one line naming the spec and what is wrong with it. */
function parse(spec: unknown, xs: readonly unknown[]): Subscripts {
  if (typeof spec !== 'string') throw new Error(`einsum: the first argument must be the subscripts, a string such as 'ij,jk->ik', got ${typeof spec}`);
  const fail = (why: string) => new Error(`einsum: '${spec}' ${why}`);
  const s = spec.replace(/\s+/g, '');
  if (s.includes('...')) throw fail('uses an ellipsis (...), which is not supported: name every axis with a letter');
  const bad = s.split('->').length > 2 ? "a second '->'" : [...s.replace('->', '')].find((c) => !/[a-zA-Z,]/.test(c));
  if (bad)
    throw fail(`has ${bad.length === 1 ? `'${bad}'` : bad}: write the operands' letters separated by ',', then optionally '->' and the output's letters`);
  const [lhs, rhs] = s.split('->');
  const inputs = lhs.split(',');
  if (xs.length === 0 || !xs.every((x) => x instanceof Tensor)) throw fail("needs tensors after the subscripts, as t.einsum('ij,jk->ik', a, b)");
  if (inputs.length !== xs.length)
    throw fail(`names ${inputs.length} operand${inputs.length === 1 ? '' : 's'} but ${xs.length} ${xs.length === 1 ? 'was' : 'were'} given`);
  const sizes = new Map<string, number>(),
    where = new Map<string, number>();
  inputs.forEach((term, o) => {
    const x = xs[o] as Tensor;
    expectSameDtype('einsum', xs[0] as Tensor, x);
    if (term.length !== x.rank) throw fail(`names ${term.length} axes ('${term}') for operand ${o}, which has shape ${formatShape(x.shape)}`);
    [...term].forEach((c, d) => {
      const had = sizes.get(c);
      if (had !== undefined && had !== x.shape[d])
        throw fail(`gives '${c}' length ${had} in operand ${where.get(c)} but ${x.shape[d]} in operand ${o} ${formatShape(x.shape)}`);
      sizes.set(c, x.shape[d]);
      if (!where.has(c)) where.set(c, o);
    });
  });
  const once = [...sizes.keys()].filter((c) => [...lhs].filter((d) => d === c).length === 1).sort();
  const output = rhs ?? once.join('');
  for (const [d, c] of [...output].entries()) {
    if (!sizes.has(c)) throw fail(`puts '${c}' in the output, but no operand has it`);
    if (output.indexOf(c) !== d) throw fail(`puts '${c}' in the output twice`);
  }
  return { inputs, output, sizes };
}

/** The kernel's form of the subscripts: letters as numbers. */
function run(p: Subscripts, xs: readonly Tensor[]): k.NdArray {
  const letters = [...p.sizes.keys()],
    id = (c: string) => letters.indexOf(c);
  return k.einsum(
    xs.map((x) => x.array),
    p.inputs.map((term) => [...term].map(id)),
    [...p.output].map(id),
    letters.map((c) => p.sizes.get(c)!),
    xs[0].dtype,
  );
}

/** Σ over the letters not in the output of the product of the operands (numpy's einsum, letters only). */
export const einsum = defineOp(
  'einsum',
  (spec: string, ...xs: Tensor[]) => {
    const p = parse(spec, xs);
    return {
      out: wrap(run(p, xs)),
      // saves the operands: the gradient of each is the einsum of g with the others
      backward(g, needs, t): Gradients {
        return [null, ...xs.map((_, i) => (needs[i + 1] ? operandGrad(t, p, g, xs, i) : null))];
      },
    };
  },
  'dx_i = einsum(out, the others -> x_i) (repeated along letters only x_i has, on the diagonal for a letter x_i repeats)',
);

/**
 * dl/dx_i = einsum('<output>,<the other operands>-><x_i's letters>', g, ...others), with two
 * amendments einsum cannot say itself: a letter only x_i has (summed out in the forward) gets g
 * repeated along it (broadcast), and a letter x_i repeats (a diagonal) gets it only on the diagonal
 * (times a constant 0/1 mask). Each step is an op of `t`, so this is differentiable again.
 */
function operandGrad(t: Tape, p: Subscripts, g: Tensor, xs: readonly Tensor[], i: number): Tensor {
  const term = p.inputs[i],
    x = xs[i];
  const others = p.inputs.filter((_, o) => o !== i);
  const reachable = new Set([...p.output, ...others.join('')]);
  const first = [...term].map((c) => term.indexOf(c));
  const kept = [...term].filter((c, d) => first[d] === d && reachable.has(c)).join('');
  const value = t.einsum([p.output, ...others].join(',') + '->' + kept, g, ...xs.filter((_, o) => o !== i));
  const shape = [...term].map((c, d) => (first[d] === d && reachable.has(c) ? x.shape[d] : 1));
  const spread = k.sameShape(value.shape, x.shape) ? value : t.broadcastTo(t.reshape(value, shape), x.shape);
  return first.every((f, d) => f === d) ? spread : t.mul(spread, wrap(k.diagonalMask(x.shape, first, x.dtype)));
}
