/**
 * A derivation file evaluated exactly: every named value in float64 on one tape, so that any
 * derivative dX/dY is reverse mode through everything that depends on Y.
 */
import { Tape, Tensor, tensor, formatShape } from '@backprop/graph';
import { decimal, exactValue, type Rational } from './exact.ts';
import { fromNumber, wideValue, type Wide } from './wide.ts';
import { CheckError, derivText, isLiteral, paren, parseFile, references, show, type ChainOp, type Node, type Statement } from './parse.ts';

/** How to look up names and derivatives while evaluating an expression. */
export interface Env {
  name(n: string): Tensor;
  deriv(of: string, wrt: string, wrt2?: string): Tensor;
}

/** One key per derivative: d2X/dY^2 and d(dX/dY)/dY are the same. */
export const derivKey = (of: string, wrt: string, wrt2?: string) => (wrt2 === undefined ? `d${of}/d${wrt}` : `d(d${of}/d${wrt})/d${wrt2}`);

/** The unit of the last written digit of a number literal: 0.6570 -> 1e-4, 2 -> 1, 1.5e-3 -> 1e-4. */
export function unitOf(text: string): number {
  const m = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return 0;
  return Number(`1e${Number(m[3] ?? 0) - (m[2]?.length ?? 0)}`); // exact, unlike 10 ** -4
}

export function literalTensor(n: Node): { value: Tensor; units: number[] } {
  const scalar = (e: Node): [number, number] =>
    e.kind === 'num' ? [e.value, unitOf(e.text)] : e.kind === 'neg' && e.arg.kind === 'num' ? [-e.arg.value, unitOf(e.arg.text)] : [NaN, 0];
  if (n.kind !== 'matrix') {
    const [v, u] = scalar(n);
    return { value: tensor(v, { dtype: 'float64' }), units: [u] };
  }
  const cells = n.rows.map((r) => r.map(scalar));
  const values = cells.map((r) => r.map((c) => c[0]));
  return { value: tensor(n.vector ? values[0] : values, { dtype: 'float64' }), units: cells.flat().map((c) => c[1]) };
}

/** A literal's numbers exactly as written, each with the exponent of its last written digit, in row-major order. */
export function literalDecimals(n: Node): { value: Rational; last: number }[] {
  const cells = n.kind === 'matrix' ? n.rows.flat() : [n];
  return cells.map((c) => {
    const [num, sign] = c.kind === 'neg' && c.arg.kind === 'num' ? [c.arg, -1n] : c.kind === 'num' ? [c, 1n] : [null, 1n];
    const d = num && decimal(num.text);
    if (!d) throw new Error(`not a number literal: ${show(c)}`); // the parser lets only literals through as claims
    return { value: { n: sign * d.value.n, d: d.value.d }, last: d.last };
  });
}

function applyOp(t: Tape, op: ChainOp, a: Tensor, b: Tensor): Tensor {
  switch (op) {
    case '+':
      return t.add(a, b);
    case '-':
      return t.sub(a, b);
    case '*':
      return t.mul(a, b);
    case '/':
      return t.div(a, b);
    case '@':
      return t.matmul(a, b);
  }
}

/** Labels of the partial results of a long chain stop growing here (they are only read in --explain). */
const LABEL_LENGTH = 80;

/**
 * Evaluates an expression on a tape; `labels` learns a readable name for every tensor the tape
 * records (--explain shows constants by their value; labelling them too would keep them all alive).
 */
export function evalNode(n: Node, t: Tape, env: Env, line: number, labels?: Map<Tensor, string>): Tensor {
  const out = ((): Tensor => {
    switch (n.kind) {
      case 'num':
        return tensor(n.value, { dtype: 'float64' });
      case 'name':
        return env.name(n.name);
      case 'deriv':
        return env.deriv(n.of, n.wrt, n.wrt2);
      case 'neg':
        return t.neg(evalNode(n.arg, t, env, line, labels));
      case 'matrix':
        if (!isLiteral(n)) throw new CheckError(line, 'matrix literals hold numbers only, in at most two levels of brackets: [1, 2] or [[1, 2], [3, 4]]');
        return literalTensor(n).value;
      case 'chain': {
        // Left to right without recursing along the chain: a line may sum thousands of terms.
        const p = n.rest[0].op === '+' || n.rest[0].op === '-' ? 1 : 2;
        let acc = evalNode(n.first, t, env, line, labels);
        let text = labels ? paren(n.first, p) : '';
        n.rest.forEach(({ op, arg }, i) => {
          acc = applyOp(t, op, acc, evalNode(arg, t, env, line, labels));
          if (!labels || i === n.rest.length - 1) return; // the whole chain is labelled below
          if (text.length < LABEL_LENGTH) text += ` ${op} ${paren(arg, p + 1)}`;
          if (acc.requiresGrad && !labels.has(acc)) labels.set(acc, text.length < LABEL_LENGTH ? text : `${text.slice(0, LABEL_LENGTH - 3)}...`);
        });
        return acc;
      }
      case 'power': {
        const a = evalNode(n.base, t, env, line, labels),
          b = evalNode(n.exponent, t, env, line, labels);
        if (b.size !== 1) throw new CheckError(line, `the exponent of ^ must be a single number, got shape ${formatShape(b.shape)}`);
        return b.requiresGrad ? t.exp(t.mul(b, t.log(a))) : t.pow(a, b.item());
      }
      case 'call': {
        const args = n.args.map((a) => evalNode(a, t, env, line, labels));
        const [x, y] = args;
        switch (n.fn) {
          case 'sigmoid':
            return t.sigmoid(x);
          case 'tanh':
            return t.tanh(x);
          case 'relu':
            return t.relu(x);
          case 'elu':
            return t.elu(x, 1);
          case 'exp':
            return t.exp(x);
          case 'log':
            return t.log(x);
          case 'sqrt':
            return t.sqrt(x);
          case 'abs':
            return t.abs(x);
          case 'max':
            return t.maximum(x, y);
          case 'min':
            return t.minimum(x, y);
          case 'T':
            return t.transpose(x);
          case 'sum':
            return t.sum(x);
          case 'mean':
            return t.mean(x);
          case 'softmax':
            return t.softmax(x);
        }
        throw new CheckError(line, `unknown function '${n.fn}'`);
      }
    }
  })();
  // A derivative inside an expression (eta * dl/dw5) is a constant, but one with a name worth showing.
  if (labels && (out.requiresGrad || n.kind === 'deriv') && !labels.has(out)) {
    const text = show(n);
    labels.set(out, text.length <= LABEL_LENGTH ? text : `${text.slice(0, LABEL_LENGTH - 3)}...`);
  }
  return out;
}

/** Runs graph errors (shape mismatches, ...) through as errors of the line. */
export function atLine<T>(line: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CheckError) throw e;
    throw new CheckError(line, (e as Error).message);
  }
}

/**
 * A derivation file parsed and computed: each named value and claimed derivative recorded on one
 * tape (`tape`, `values`, with `labels` for pictures), its `statements` line by line.
 */
export class Derivation {
  readonly statements: Statement[];
  /** The statement defining each name (given or defined). */
  readonly defs = new Map<string, Statement>();
  /** Claimed derivatives by `dX/dY`. */
  readonly derivClaims = new Map<string, Statement>();
  readonly tape = new Tape();
  readonly values = new Map<string, Tensor>();
  readonly labels = new Map<Tensor, string>();
  /** Each scalar name's exact value where + - * / and friends of exact numbers give one (exact.ts), else null. */
  readonly exact = new Map<string, Rational | null>();
  /** Each scalar name's value where float64's range is no limit (wide.ts), null where there is none. */
  readonly wide = new Map<string, Wide | null>();
  /**
   * The names whose float64 value cannot be trusted: a step of their line, or of a line they use,
   * is out of float64's range. Each with the line and name where it first happened.
   */
  readonly outOfRange = new Map<string, { line: number; name: string }>();
  private readonly deps = new Map<string, Set<string>>();
  /** dX/dY once computed: later lines do not change it (nothing defined later feeds X). */
  private readonly derivs = new Map<string, Tensor>();

  constructor(source: string) {
    this.statements = parseFile(source);
    for (const s of this.statements) {
      if (s.lhs.kind === 'name') {
        const first = this.defs.get(s.lhs.name);
        if (first) throw new CheckError(s.line, `'${s.lhs.name}' is defined twice (first on line ${first.line})`);
        this.defs.set(s.lhs.name, s);
      } else {
        const key = derivKey(s.lhs.of, s.lhs.wrt, s.lhs.wrt2);
        const first = this.derivClaims.get(key);
        if (first) throw new CheckError(s.line, `${key} is claimed twice (first on line ${first.line})`);
        this.derivClaims.set(key, s);
      }
    }
    for (const s of this.statements) {
      const used = new Set<string>();
      for (const e of s.exprs) {
        const r = references(e);
        for (const n of r.names) {
          if (!this.defs.has(n)) throw new CheckError(s.line, `unknown name '${n}'`);
          used.add(n);
        }
        for (const d of r.derivs)
          used
            .add(d.of)
            .add(d.wrt)
            .add(d.wrt2 ?? d.wrt);
      }
      if (s.lhs.kind === 'name') this.deps.set(s.lhs.name, used);
    }
    for (const name of this.order()) this.define(name);
  }

  /**
   * Names in an order where each comes after what it uses; a cycle is an error. Depth-first with an
   * explicit stack: a chain of definitions may be thousands of lines long.
   */
  private order(): string[] {
    const done = new Set<string>(),
      onPath = new Set<string>(),
      order: string[] = [];
    for (const root of this.defs.keys()) {
      if (done.has(root)) continue;
      const path: { name: string; deps: Iterator<string> }[] = [];
      const enter = (n: string) => {
        onPath.add(n);
        path.push({ name: n, deps: (this.deps.get(n) ?? new Set<string>()).values() });
      };
      enter(root);
      while (path.length > 0) {
        const top = path[path.length - 1];
        const next = top.deps.next();
        if (next.done) {
          path.pop();
          onPath.delete(top.name);
          done.add(top.name);
          order.push(top.name);
        } else if (onPath.has(next.value)) {
          const names = path.map((p) => p.name);
          const cycle = [...names.slice(names.indexOf(next.value)), next.value];
          throw new CheckError(this.defs.get(next.value)!.line, `cycle: ${cycle.join(' -> ')}`);
        } else if (!done.has(next.value)) enter(next.value);
      }
    }
    return order;
  }

  private define(name: string): void {
    const s = this.defs.get(name)!;
    let value: Tensor;
    if (s.exprs.length === 0)
      value = literalTensor(s.claim!).value; // a given
    else value = atLine(s.line, () => evalNode(s.exprs[0], this.tape, this.exactEnv(s.line), s.line, this.labels));
    // Every named value is a node that derivatives can be taken with respect to.
    if (!value.requiresGrad) value = new Tensor(value.array, { requiresGrad: true });
    this.values.set(name, value);
    this.labels.set(value, name);
    const scalar = value.shape.length === 0;
    const expr = s.exprs.length === 0 ? s.claim! : s.exprs[0];
    this.exact.set(name, scalar ? exactValue(expr, (n) => this.exact.get(n) ?? null) : null);
    this.checkRange(name, s, expr, value);
  }

  /** The line's wide value, and whether float64 can be trusted with it (wide.ts). */
  private checkRange(name: string, s: Statement, expr: Node, value: Tensor): void {
    const r = references(expr);
    let origin = [...r.names].map((n) => this.outOfRange.get(n)).find(Boolean);
    // A derivative of a value float64 cannot hold is no better.
    for (const dv of r.derivs) origin ??= this.outOfRange.get(dv.of);
    const floats = value.toFlatArray();
    if (value.shape.length === 0 && s.exprs.length > 0) {
      const wide = wideValue(
        expr,
        (n) => this.wide.get(n) ?? null,
        (of, wrt, wrt2) => {
          if (this.outOfRange.has(of)) return null;
          const g = this.exactDeriv(of, wrt, s.line, wrt2);
          return g.size === 1 ? fromNumber(g.item()) : null;
        },
      );
      this.wide.set(name, wide.value);
      // Not finite in float64 but a number in wide arithmetic (log(0) of an underflow, Infinity / Infinity).
      if (wide.outOfRange || (!Number.isFinite(floats[0]) && wide.value)) origin ??= { line: s.line, name };
    } else {
      this.wide.set(name, value.size === 1 ? fromNumber(floats[0]) : null);
      if (s.exprs.length > 0 && floats.some((x) => !Number.isFinite(x) || (x !== 0 && Math.abs(x) < 2 ** -1000))) origin ??= { line: s.line, name };
    }
    if (origin) this.outOfRange.set(name, origin);
  }

  exactEnv(line: number): Env {
    return { name: (n) => this.values.get(n)!, deriv: (of, wrt, wrt2) => this.exactDeriv(of, wrt, line, wrt2) };
  }

  /**
   * dX/dY by reverse mode through the whole tape; with `wrt2`, d(dX/dY)/dZ: the backward pass of
   * dX/dY recorded on the tape (createGraph), then differentiated with respect to Z.
   */
  exactDeriv(of: string, wrt: string, line: number, wrt2?: string): Tensor {
    const x = this.values.get(of),
      y = this.values.get(wrt),
      z = wrt2 === undefined ? y : this.values.get(wrt2);
    const text = derivText({ of, wrt, wrt2 });
    if (!x || !y || !z) throw new CheckError(line, `${text} is used before ${!x ? of : !y ? wrt : wrt2} is computed`);
    if (x.size !== 1) throw new CheckError(line, `${text} needs ${of} to be a single number, but it has shape ${formatShape(x.shape)}`);
    const key = derivKey(of, wrt, wrt2);
    const known = this.derivs.get(key);
    if (known) return known;
    if (wrt2 !== undefined && y.size !== 1)
      throw new CheckError(line, `${text} needs d${of}/d${wrt} to be a single number, but ${wrt} has shape ${formatShape(y.shape)}`);
    // The tape refuses to differentiate a value that is not finite: the derivative is not a number then either.
    const nan = () => tensor(new Float64Array(z.size).fill(NaN), { shape: z.shape });
    let g: Tensor;
    if (!Number.isFinite(x.item())) g = nan();
    else if (wrt2 === undefined) g = this.tape.gradients(x, [y])[0].detach();
    else {
      const first = this.tape.gradients(x, [y], { createGraph: true })[0];
      g = Number.isFinite(first.item()) ? this.tape.gradients(first, [z])[0].detach() : nan();
    }
    this.derivs.set(key, g);
    return g;
  }

  /** Does `of` depend on `on` (through the names its definition uses)? A walk with an explicit stack. */
  dependsOn(of: string, on: string): boolean {
    const seen = new Set<string>([of]),
      stack = [of];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n === on) return true;
      for (const d of this.deps.get(n) ?? []) if (!seen.has(d)) stack.push(d), seen.add(d);
    }
    return false;
  }

  /** A name's claimed value if it has one (a given's value is exact), else its exact value. */
  claimedValue(name: string): { value: Tensor; units: number[] } {
    const s = this.defs.get(name)!;
    if (s.claim && s.exprs.length > 0) return literalTensor(s.claim);
    return { value: this.values.get(name)!.detach(), units: [0] };
  }
}

const fmt = (x: number) =>
  Number.isInteger(x)
    ? String(x)
    : x
        .toPrecision(8)
        .replace(/(\.\d*?)0+$/, '$1')
        .replace(/\.$/, '');
export const formatValue = (t: Tensor | number[], shape?: number[]): string => {
  const values = Array.isArray(t) ? t : t.toFlatArray();
  const dims = shape ?? (t instanceof Tensor ? t.shape : [values.length]);
  if (dims.length === 0) return fmt(values[0]);
  if (dims.length === 1) return `[${values.map(fmt).join(', ')}]`;
  const c = dims[1];
  return `[${Array.from(
    { length: dims[0] },
    (_, i) =>
      `[${values
        .slice(i * c, (i + 1) * c)
        .map(fmt)
        .join(', ')}]`,
  ).join(', ')}]`;
};

/** Checks every claim of a derivation file. Throws a CheckError when the file cannot be read. */
