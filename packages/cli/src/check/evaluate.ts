/**
 * Checks a derivation file claim by claim. Values are computed exactly (float64) on a tape, and
 * derivatives by reverse mode on that tape. Each claim is then
 *   ok        - within one unit of its last written digit of the exact value;
 *   rounding  - not exact, but right when the line is recomputed from the claimed (rounded) values
 *               of the lines it uses, and for a derivative from the claimed derivatives one step
 *               downstream, give or take what those values' own last digits allow;
 *   wrong     - neither.
 */
import { Tape, Tensor, tensor, formatShape } from '@backprop/graph';
import { CheckError, isLiteral, parseFile, references, show, type Node, type Statement } from './parse.ts';

export type VerdictName = 'ok' | 'rounding' | 'wrong';

export interface Verdict {
  line: number;
  claim: string;
  expression: string;
  claimed: string;
  computed: string;
  verdict: VerdictName;
  note?: string;
}

export interface CheckReport {
  verdicts: Verdict[];
  counts: Record<VerdictName, number>;
}

/** How to look up names and derivatives while evaluating an expression. */
interface Env {
  name(n: string): Tensor;
  deriv(of: string, wrt: string): Tensor;
}

const derivKey = (of: string, wrt: string) => `d${of}/d${wrt}`;

/** The unit of the last written digit of a number literal: 0.6570 -> 1e-4, 2 -> 1, 1.5e-3 -> 1e-4. */
export function unitOf(text: string): number {
  const m = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return 0;
  return Number(`1e${Number(m[3] ?? 0) - (m[2]?.length ?? 0)}`); // exact, unlike 10 ** -4
}

function literalTensor(n: Node): { value: Tensor; units: number[] } {
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

/** Evaluates an expression on a tape; `labels` learns a readable name for every tensor made. */
export function evalNode(n: Node, t: Tape, env: Env, line: number, labels?: Map<Tensor, string>): Tensor {
  const out = ((): Tensor => {
    switch (n.kind) {
      case 'num':
        return tensor(n.value, { dtype: 'float64' });
      case 'name':
        return env.name(n.name);
      case 'deriv':
        return env.deriv(n.of, n.wrt);
      case 'neg':
        return t.neg(evalNode(n.arg, t, env, line, labels));
      case 'matrix':
        if (!isLiteral(n)) throw new CheckError(line, 'matrix literals hold numbers only');
        return literalTensor(n).value;
      case 'binary': {
        const a = evalNode(n.left, t, env, line, labels), b = evalNode(n.right, t, env, line, labels);
        switch (n.op) {
          case '+': return t.add(a, b);
          case '-': return t.sub(a, b);
          case '*': return t.mul(a, b);
          case '/': return t.div(a, b);
          case '@': return t.matmul(a, b);
          case '^':
            if (b.size !== 1) throw new CheckError(line, `the exponent of ^ must be a single number, got shape ${formatShape(b.shape)}`);
            return b.requiresGrad ? t.exp(t.mul(b, t.log(a))) : t.pow(a, b.item());
        }
      }
      // falls through (unreachable)
      case 'call': {
        const args = n.args.map((a) => evalNode(a, t, env, line, labels));
        const [x, y] = args;
        switch (n.fn) {
          case 'sigmoid': return t.sigmoid(x);
          case 'tanh': return t.tanh(x);
          case 'relu': return t.relu(x);
          case 'elu': return t.elu(x, 1);
          case 'exp': return t.exp(x);
          case 'log': return t.log(x);
          case 'sqrt': return t.sqrt(x);
          case 'abs': return t.abs(x);
          case 'max': return t.maximum(x, y);
          case 'min': return t.minimum(x, y);
          case 'T': return t.transpose(x);
          case 'sum': return t.sum(x);
          case 'mean': return t.mean(x);
          case 'softmax': return t.softmax(x);
        }
        throw new CheckError(line, `unknown function '${n.fn}'`);
      }
    }
  })();
  if (labels && !labels.has(out)) labels.set(out, show(n));
  return out;
}

/** Runs graph errors (shape mismatches, ...) through as errors of the line. */
function atLine<T>(line: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CheckError) throw e;
    throw new CheckError(line, (e as Error).message);
  }
}

export class Derivation {
  readonly statements: Statement[];
  /** The statement defining each name (given or defined). */
  readonly defs = new Map<string, Statement>();
  /** Claimed derivatives by `dX/dY`. */
  readonly derivClaims = new Map<string, Statement>();
  readonly tape = new Tape();
  readonly values = new Map<string, Tensor>();
  readonly labels = new Map<Tensor, string>();
  private readonly deps = new Map<string, Set<string>>();

  constructor(source: string) {
    this.statements = parseFile(source);
    for (const s of this.statements) {
      if (s.lhs.kind === 'name') {
        const first = this.defs.get(s.lhs.name);
        if (first) throw new CheckError(s.line, `'${s.lhs.name}' is defined twice (first on line ${first.line})`);
        this.defs.set(s.lhs.name, s);
      } else {
        const key = derivKey(s.lhs.of, s.lhs.wrt);
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
        for (const d of r.derivs) used.add(d.of).add(d.wrt);
      }
      if (s.lhs.kind === 'name') this.deps.set(s.lhs.name, used);
    }
    for (const name of this.order()) this.define(name);
  }

  /** Names in an order where each comes after what it uses; a cycle is an error. */
  private order(): string[] {
    const done = new Set<string>(), visiting: string[] = [], order: string[] = [];
    const visit = (n: string) => {
      if (done.has(n)) return;
      const at = visiting.indexOf(n);
      if (at >= 0) {
        const cycle = [...visiting.slice(at), n];
        throw new CheckError(this.defs.get(n)!.line, `cycle: ${cycle.join(' -> ')}`);
      }
      visiting.push(n);
      for (const d of this.deps.get(n) ?? []) visit(d);
      visiting.pop();
      done.add(n);
      order.push(n);
    };
    for (const n of this.defs.keys()) visit(n);
    return order;
  }

  private define(name: string): void {
    const s = this.defs.get(name)!;
    let value: Tensor;
    if (s.exprs.length === 0) value = literalTensor(s.claim!).value; // a given
    else value = atLine(s.line, () => evalNode(s.exprs[0], this.tape, this.exactEnv(s.line), s.line, this.labels));
    // Every named value is a node that derivatives can be taken with respect to.
    if (!value.requiresGrad) value = new Tensor(value.array, { requiresGrad: true });
    this.values.set(name, value);
    this.labels.set(value, name);
  }

  exactEnv(line: number): Env {
    return { name: (n) => this.values.get(n)!, deriv: (of, wrt) => this.exactDeriv(of, wrt, line) };
  }

  /** dX/dY by reverse mode through the whole tape. */
  exactDeriv(of: string, wrt: string, line: number): Tensor {
    const x = this.values.get(of), y = this.values.get(wrt);
    if (!x || !y) throw new CheckError(line, `d${of}/d${wrt} is used before ${x ? wrt : of} is computed`);
    if (x.size !== 1) throw new CheckError(line, `d${of}/d${wrt} needs ${of} to be a single number, but it has shape ${formatShape(x.shape)}`);
    return this.tape.gradients(x, [y])[0].detach();
  }

  /** Does `of` depend on `on` (through the names its definition uses)? */
  dependsOn(of: string, on: string): boolean {
    const seen = new Set<string>();
    const walk = (n: string): boolean => {
      if (n === on) return true;
      if (seen.has(n)) return false;
      seen.add(n);
      return [...(this.deps.get(n) ?? [])].some(walk);
    };
    return walk(of);
  }

  /** A name's claimed value if it has one (a given's value is exact), else its exact value. */
  claimedValue(name: string): { value: Tensor; units: number[] } {
    const s = this.defs.get(name)!;
    if (s.claim && s.exprs.length > 0) return literalTensor(s.claim);
    return { value: this.values.get(name)!.detach(), units: [0] };
  }
}

type Inputs = Map<string, { value: Tensor; units: number[] }>;

/**
 * `fn` evaluated at the claimed inputs, and how far it can move when each input moves by half a
 * unit of its last written digit (either way, one input at a time, summed): the slack rounding allows.
 */
function recompute(inputs: Inputs, fn: (get: (key: string) => Tensor) => Tensor): { value: number[]; slack: number[] } {
  const at = (shifted?: string, sign = 0) => (key: string) => {
    const input = inputs.get(key)!;
    if (key !== shifted) return input.value;
    // A rounded claim stands for a value within half a unit of its last written digit.
    const d = input.value.toFlatArray().map((v, i) => v + (sign * (input.units[i] ?? input.units[0])) / 2);
    return tensor(Float64Array.from(d), { shape: input.value.shape });
  };
  const value = fn(at()).toFlatArray();
  const slack = value.map(() => 0);
  for (const [key, input] of inputs) {
    if (input.units.every((u) => u === 0)) continue;
    const moved = value.map(() => 0);
    for (const sign of [1, -1]) {
      fn(at(key, sign)).toFlatArray().forEach((v, i) => (moved[i] = Math.max(moved[i], Math.abs(v - value[i]))));
    }
    moved.forEach((m, i) => (slack[i] += m)); // the inputs' rounding errors may add up
  }
  return { value, slack };
}

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(8).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, ''));
export const formatValue = (t: Tensor | number[], shape?: number[]): string => {
  const values = Array.isArray(t) ? t : t.toFlatArray();
  const dims = shape ?? (t instanceof Tensor ? t.shape : [values.length]);
  if (dims.length === 0) return fmt(values[0]);
  if (dims.length === 1) return `[${values.map(fmt).join(', ')}]`;
  const c = dims[1];
  return `[${Array.from({ length: dims[0] }, (_, i) => `[${values.slice(i * c, (i + 1) * c).map(fmt).join(', ')}]`).join(', ')}]`;
};

/** Checks every claim of a derivation file. Throws a CheckError when the file cannot be read. */
export function checkSource(source: string): { derivation: Derivation; report: CheckReport } {
  const d = new Derivation(source);
  const verdicts = d.statements.filter((s) => s.claim && (s.exprs.length > 0 || s.lhs.kind === 'deriv')).map((s) => judge(d, s));
  const counts = { ok: 0, rounding: 0, wrong: 0 };
  for (const v of verdicts) counts[v.verdict]++;
  return { derivation: d, report: { verdicts, counts } };
}

function judge(d: Derivation, s: Statement): Verdict {
  const claim = literalTensor(s.claim!);
  const isDeriv = s.lhs.kind === 'deriv';
  const target = s.lhs.kind === 'deriv' ? d.exactDeriv(s.lhs.of, s.lhs.wrt, s.line) : d.values.get(s.lhs.name)!;
  const lhsText = s.lhs.kind === 'deriv' ? derivKey(s.lhs.of, s.lhs.wrt) : s.lhs.name;
  const base = {
    line: s.line, claim: lhsText, expression: s.exprs.length ? show(s.exprs[0]) : '', claimed: show(s.claim!), computed: formatValue(target),
  };
  if (claim.value.shape.join() !== target.shape.join()) {
    return { ...base, verdict: 'wrong', note: `the claim has shape ${formatShape(claim.value.shape)} but the value has ${formatShape(target.shape)}` };
  }
  const exact = target.toFlatArray(), claimed = claim.value.toFlatArray();
  const unit = (i: number) => claim.units[i] ?? claim.units[0];
  const within = (xs: number[], slack: number[] = []) => xs.every((x, i) => Math.abs(x - claimed[i]) <= unit(i) * (1 + 1e-9) + (slack[i] ?? 0));
  // Steps written between the definition and the claim must agree with the value too.
  const steps = isDeriv ? s.exprs : s.exprs.slice(1);
  for (const step of steps) {
    const v = atLine(s.line, () => d.tape.noRecord(() => evalNode(step, d.tape, d.exactEnv(s.line), s.line))).toFlatArray();
    const agrees = v.every((x, i) => Math.abs(x - exact[i]) <= Math.max(unit(i), 1e-3 * Math.abs(exact[i])));
    if (!agrees) return { ...base, verdict: 'wrong', note: `the step ${show(step)} gives ${formatValue(v, target.shape)}, not ${formatValue(target)}` };
  }
  if (within(exact)) return { ...base, verdict: 'ok' };
  const re = isDeriv ? recomputeDerivative(d, s) : recomputeValue(d, s);
  if (re && within(re.value, re.slack)) {
    return { ...base, verdict: 'rounding', note: `recomputed from the claimed values it uses: ${formatValue(re.value, target.shape)}` };
  }
  return { ...base, verdict: 'wrong', note: `should be ${formatValue(target)}` };
}

/** The claimed inputs of an expression: names (claimed or exact values) and derivatives (claimed or exact). */
function claimedInputs(d: Derivation, nodes: Node[], line: number): Inputs {
  const inputs: Inputs = new Map();
  for (const node of nodes) {
    const r = references(node);
    for (const n of r.names) inputs.set(`n:${n}`, d.claimedValue(n));
    for (const { of, wrt } of r.derivs) {
      const c = d.derivClaims.get(derivKey(of, wrt));
      inputs.set(`d:${of}|${wrt}`, c ? literalTensor(c.claim!) : { value: d.exactDeriv(of, wrt, line), units: [0] });
    }
  }
  return inputs;
}

function envFrom(get: (key: string) => Tensor): Env {
  return { name: (n) => get(`n:${n}`), deriv: (of, wrt) => get(`d:${of}|${wrt}`) };
}

function recomputeValue(d: Derivation, s: Statement) {
  const inputs = claimedInputs(d, [s.exprs[0]], s.line);
  const t = new Tape();
  return recompute(inputs, (get) => t.noRecord(() => evalNode(s.exprs[0], t, envFrom(get), s.line)));
}

/**
 * dX/dY from one step downstream: the sum over the lines C that use Y directly (and that X
 * depends on) of dX/dC (claimed if claimed) times the local derivative dC/dY at the claimed values.
 */
function recomputeDerivative(d: Derivation, s: Statement) {
  if (s.lhs.kind !== 'deriv') return null;
  const { of: X, wrt: Y } = s.lhs;
  const consumers = d.statements.filter(
    (c) => c.lhs.kind === 'name' && c.exprs.length > 0 && references(c.exprs[0]).names.has(Y) && d.dependsOn(X, c.lhs.name),
  );
  if (consumers.length === 0) return null;
  const inputs: Inputs = claimedInputs(d, consumers.map((c) => c.exprs[0]), s.line);
  for (const c of consumers) {
    const C = (c.lhs as { name: string }).name;
    if (C === X) continue;
    const claim = d.derivClaims.get(derivKey(X, C));
    inputs.set(`g:${C}`, claim ? literalTensor(claim.claim!) : { value: d.exactDeriv(X, C, s.line), units: [0] });
  }
  return recompute(inputs, (get) => {
    let total: Tensor | null = null;
    for (const c of consumers) {
      const C = (c.lhs as { name: string }).name;
      const t = new Tape();
      const y = new Tensor(get(`n:${Y}`).array, { requiresGrad: true });
      const env = envFrom((key) => (key === `n:${Y}` ? y : get(key)));
      const out = evalNode(c.exprs[0], t, env, c.line);
      const g = C === X ? undefined : get(`g:${C}`);
      const local = t.gradients(out, [y], g ? { grad: g } : {})[0];
      total = total ? new Tape().add(total, local) : local;
    }
    return total!;
  });
}
