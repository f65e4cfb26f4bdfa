/**
 * Checks a derivation file claim by claim. Values are computed in float64 on a tape (and, where
 * only + - * / of exact numbers are involved, exactly: exact.ts), derivatives by reverse mode on
 * that tape. Each claim is then
 *   ok        - the value correctly rounded to the claim's last written digit, or (said so:
 *               `ok (truncated)`) the value truncated to it;
 *   rounding  - neither, but the line's value recomputed from the claimed (rounded) values of the
 *               lines it uses, and for a derivative from the claimed derivatives one step
 *               downstream, rounds or truncates to the claim, give or take what those values' own
 *               last digits allow;
 *   wrong     - none of these.
 * A blank (`= ?`, an exercise's line) gets the value it should hold.
 */
import { Tape, Tensor, tensor, formatShape } from '@backprop/graph';
import { derivText, references, show, type Node, type Statement } from './parse.ts';
import { atLine, derivKey, Derivation, evalNode, formatValue, literalDecimals, literalTensor, type Env } from './derivation.ts';
import { fit, fitWithin, fromComputed, fromDouble, type Fit } from './exact.ts';

export { Derivation, formatValue, unitOf } from './derivation.ts';

export type VerdictName = 'ok' | 'rounding' | 'wrong' | 'blank';

export interface Verdict {
  line: number;
  claim: string;
  expression: string;
  claimed: string;
  computed: string;
  verdict: VerdictName;
  /** An ok claim that is the value truncated, not rounded, to its last digit. */
  truncated?: boolean;
  note?: string;
}

export interface CheckReport {
  verdicts: Verdict[];
  counts: Record<VerdictName, number>;
  /** Lines right (ok or rounding: a rounded value carried forward is no slip) of all claims and blanks. */
  score: { right: number; of: number };
}

/** The inputs of a recomputation by key: `n:name` a value, `d:X|Y` a derivative, `g:C` dX/dC downstream. */
type Inputs = Map<string, { value: Tensor; units: number[] }>;

/**
 * `fn` evaluated at the claimed inputs, and how far it can move when each input moves by half a
 * unit of its last written digit (either way, one input at a time, summed): the slack rounding allows.
 */
function recompute(inputs: Inputs, fn: (get: (key: string) => Tensor) => Tensor): { value: number[]; slack: number[] } | null {
  // With no claimed (rounded) input, recomputing gives the exact value again: nothing to explain.
  if ([...inputs.values()].every((input) => input.units.every((u) => u === 0))) return null;
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

export function checkSource(source: string): { derivation: Derivation; report: CheckReport } {
  const d = new Derivation(source);
  const claims = d.statements.filter((s) => s.claim && (s.exprs.length > 0 || s.lhs.kind === 'deriv'));
  // First how each claim fits its exact value: a truncated claim, used further on, may be off by a whole unit.
  const targets = new Map(claims.map((s) => [s, targetOf(d, s)])); // a derivative's backward pass, once
  const fits = new Map(claims.map((s) => [s, claimFit(d, s, targets.get(s)!)]));
  const judged = new Map(claims.map((s) => [s, judge(d, s, targets.get(s)!, fits)]));
  const verdicts = d.statements.flatMap((s) => judged.get(s) ?? (s.blank ? [blankVerdict(d, s)] : []));
  const counts = { ok: 0, rounding: 0, wrong: 0, blank: 0 };
  for (const v of verdicts) counts[v.verdict]++;
  return { derivation: d, report: { verdicts, counts, score: { right: counts.ok + counts.rounding, of: verdicts.length } } };
}

/** The exact value (dX/dY or a name's) that a claim is about. */
const targetOf = (d: Derivation, s: Statement) => (s.lhs.kind === 'deriv' ? d.exactDeriv(s.lhs.of, s.lhs.wrt, s.line, s.lhs.wrt2) : d.values.get(s.lhs.name)!);

/** A blank's verdict: the value the line should hold. */
function blankVerdict(d: Derivation, s: Statement): Verdict {
  const value = targetOf(d, s);
  const claim = s.lhs.kind === 'deriv' ? derivText(s.lhs) : s.lhs.name;
  return { line: s.line, claim, expression: s.exprs.length ? show(s.exprs[0]) : '', claimed: '?', computed: formatValue(value), verdict: 'blank' };
}

/** Is the claim the exact value rounded (or else truncated) to its digits, in every element? null if not, or shapes differ. */
function claimFit(d: Derivation, s: Statement, target: Tensor): Fit {
  const claim = literalDecimals(s.claim!);
  if (target.size !== claim.length) return null;
  const exact = s.lhs.kind === 'name' ? d.exact.get(s.lhs.name) : null;
  const values = target.toFlatArray();
  let how: Fit = 'rounded';
  for (const [i, c] of claim.entries()) {
    const f = fit(exact ?? fromComputed(values[i], c.last), c.value, c.last);
    if (!f) return null;
    if (f === 'truncated') how = f;
  }
  return how;
}

function judge(d: Derivation, s: Statement, target: Tensor, fits: Map<Statement, Fit>): Verdict {
  const claim = literalTensor(s.claim!);
  const isDeriv = s.lhs.kind === 'deriv';
  const lhsText = s.lhs.kind === 'deriv' ? derivText(s.lhs) : s.lhs.name;
  const base = {
    line: s.line, claim: lhsText, expression: s.exprs.length ? show(s.exprs[0]) : '', claimed: show(s.claim!), computed: formatValue(target),
  };
  if (claim.value.shape.join() !== target.shape.join()) {
    return { ...base, verdict: 'wrong', note: `the claim has shape ${formatShape(claim.value.shape)} but the value has ${formatShape(target.shape)}` };
  }
  const exact = target.toFlatArray();
  const unit = (i: number) => claim.units[i] ?? claim.units[0];
  // Steps written between the definition and the claim must agree with the value too.
  const steps = isDeriv ? s.exprs : s.exprs.slice(1);
  for (const step of steps) {
    const v = atLine(s.line, () => d.tape.noRecord(() => evalNode(step, d.tape, d.exactEnv(s.line), s.line))).toFlatArray();
    const agrees = v.every((x, i) => Math.abs(x - exact[i]) <= Math.max(unit(i), 1e-3 * Math.abs(exact[i])));
    if (!agrees) return { ...base, verdict: 'wrong', note: `the step ${show(step)} gives ${formatValue(v, target.shape)}, not ${formatValue(target)}` };
  }
  const how = fits.get(s);
  if (how) return { ...base, verdict: 'ok', ...(how === 'truncated' ? { truncated: true } : {}) };
  const re = isDeriv ? recomputeDerivative(d, s, fits) : recomputeValue(d, s, fits);
  const decimals = literalDecimals(s.claim!);
  if (re && decimals.every((c, i) => fitWithin(fromComputed(re.value[i], c.last), fromDouble(re.slack[i]), c.value, c.last))) {
    return { ...base, verdict: 'rounding', note: `recomputed from the claimed values it uses: ${formatValue(re.value, target.shape)}` };
  }
  return { ...base, verdict: 'wrong', note: `should be ${formatValue(target)}` };
}

/** A claim as an input of a recomputation: its value and the units of its last digits (a truncated claim may be a whole unit off). */
function claimInput(claim: Statement, fits: Map<Statement, Fit>): { value: Tensor; units: number[] } {
  const input = literalTensor(claim.claim!);
  return fits.get(claim) === 'truncated' ? { ...input, units: input.units.map((u) => 2 * u) } : input;
}

/** The claimed inputs of an expression: names (claimed or exact values) and derivatives (claimed or exact). */
function claimedInputs(d: Derivation, nodes: Node[], line: number, fits: Map<Statement, Fit>): Inputs {
  const inputs: Inputs = new Map();
  for (const node of nodes) {
    const r = references(node);
    for (const n of r.names) {
      const def = d.defs.get(n)!;
      inputs.set(`n:${n}`, def.claim && def.exprs.length > 0 ? claimInput(def, fits) : d.claimedValue(n));
    }
    for (const { of, wrt, wrt2 } of r.derivs) {
      const c = d.derivClaims.get(derivKey(of, wrt, wrt2));
      inputs.set(`d:${of}|${wrt}|${wrt2 ?? ''}`, c?.claim ? claimInput(c, fits) : { value: d.exactDeriv(of, wrt, line, wrt2), units: [0] });
    }
  }
  return inputs;
}

function envFrom(get: (key: string) => Tensor): Env {
  return { name: (n) => get(`n:${n}`), deriv: (of, wrt, wrt2) => get(`d:${of}|${wrt}|${wrt2 ?? ''}`) };
}

function recomputeValue(d: Derivation, s: Statement, fits: Map<Statement, Fit>) {
  const inputs = claimedInputs(d, [s.exprs[0]], s.line, fits);
  const t = new Tape();
  return recompute(inputs, (get) => t.noRecord(() => evalNode(s.exprs[0], t, envFrom(get), s.line)));
}

/**
 * dX/dY from one step downstream: the sum over the lines C that use Y directly (and that X
 * depends on) of dX/dC (claimed if claimed) times the local derivative dC/dY at the claimed values.
 */
function recomputeDerivative(d: Derivation, s: Statement, fits: Map<Statement, Fit>) {
  // A second derivative is checked against its exact value only (no one-step recomputation).
  if (s.lhs.kind !== 'deriv' || s.lhs.wrt2 !== undefined) return null;
  const { of: X, wrt: Y } = s.lhs;
  const consumers = d.statements.filter(
    (c) => c.lhs.kind === 'name' && c.exprs.length > 0 && references(c.exprs[0]).names.has(Y) && d.dependsOn(X, c.lhs.name),
  );
  if (consumers.length === 0) return null;
  const inputs: Inputs = claimedInputs(d, consumers.map((c) => c.exprs[0]), s.line, fits);
  for (const c of consumers) {
    const C = (c.lhs as { name: string }).name;
    if (C === X) continue;
    const claim = d.derivClaims.get(derivKey(X, C));
    inputs.set(`g:${C}`, claim?.claim ? claimInput(claim, fits) : { value: d.exactDeriv(X, C, s.line), units: [0] });
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
