/**
 * Checks a derivation file claim by claim. Values are computed in float64 on a tape (and, where
 * only + - * / and friends of exact numbers are involved, exactly: exact.ts), derivatives by
 * reverse mode on that tape. Each claim is then
 *   ok        - the true value (from the exact inputs, through the exact chain) rounded to the
 *               claim's last written digit, or (said so: `ok (truncated)`) truncated to it;
 *   rounding  - not that, but the line recomputed from its inputs as written (each claimed value
 *               as its digits say, exactly; a value the file does not claim exactly; a derivative
 *               written bare from the claimed derivatives one step downstream) rounded or
 *               truncated to the claim's digits;
 *   wrong     - neither. No allowance for digits carried but not written: where a written input
 *               is its true value (y = 1.5 exactly), ok and rounding ask for the same number.
 * A blank (`= ?`, an exercise's line) gets the value it should hold.
 */
import { Tape, Tensor, tensor, formatShape } from '@backprop/graph';
import { derivText, references, show, type Node, type Statement } from './parse.ts';
import { atLine, derivKey, Derivation, evalNode, formatValue, literalDecimals, literalTensor, type Env } from './derivation.ts';
import { exactValue, fit, fromComputed, toNumber, type Fit, type Rational } from './exact.ts';
import { agrees, formatWide, fromNumber, toNumber as wideToNumber, toRational, wideValue, type Wide } from './wide.ts';

export { Derivation, formatValue, unitOf } from './derivation.ts';

/** `undecided`: float64 cannot evaluate the line (it overflows, or underflows), and nothing else here can either. */
export type VerdictName = 'ok' | 'rounding' | 'wrong' | 'blank' | 'undecided';

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
  /** Lines right (ok or rounding: a rounded value carried forward is no slip) of all claims and blanks but the undecided. */
  score: { right: number; of: number };
}

/**
 * The inputs of a recomputation by key (`n:name` a value, `d:X|Y|Z` a derivative, `g:C` dX/dC
 * downstream): the value as the student wrote it where the file claims one, else the exact value.
 */
type Inputs = Map<string, { value: Tensor; claimed: boolean }>;

/** `fn` at the inputs as written; null when none is a claim (it would give the exact value again). */
function recompute(inputs: Inputs, fn: (get: (key: string) => Tensor) => Tensor): number[] | null {
  if (![...inputs.values()].some((input) => input.claimed)) return null;
  return fn((key) => inputs.get(key)!.value).toFlatArray();
}

/**
 * Checks a derivation's text line by line (`backprop check`): each claim's verdict, the counts and
 * the score. Throws a `CheckError` naming the line for text that is no derivation.
 */
export function checkSource(source: string): { derivation: Derivation; report: CheckReport } {
  const d = new Derivation(source);
  const claims = d.statements.filter((s) => s.claim && (s.exprs.length > 0 || s.lhs.kind === 'deriv'));
  const judged = new Map(claims.map((s) => [s, judge(d, s, targetOf(d, s))]));
  const verdicts = d.statements.flatMap((s) => judged.get(s) ?? (s.blank ? [blankVerdict(d, s)] : []));
  const counts = { ok: 0, rounding: 0, wrong: 0, blank: 0, undecided: 0 };
  for (const v of verdicts) counts[v.verdict]++;
  return { derivation: d, report: { verdicts, counts, score: { right: counts.ok + counts.rounding, of: verdicts.length - counts.undecided } } };
}

/** The exact value (dX/dY or a name's) that a claim is about. */
const targetOf = (d: Derivation, s: Statement) => (s.lhs.kind === 'deriv' ? d.exactDeriv(s.lhs.of, s.lhs.wrt, s.line, s.lhs.wrt2) : d.values.get(s.lhs.name)!);

/** A blank's verdict: the value the line should hold. */
function blankVerdict(d: Derivation, s: Statement): Verdict {
  const value = targetOf(d, s);
  const claim = s.lhs.kind === 'deriv' ? derivText(s.lhs) : s.lhs.name;
  const base = {
    line: s.line,
    claim,
    expression: s.exprs.length ? show(s.exprs[0]) : '',
    claimed: '?',
    computed: formatValue(value),
    verdict: 'blank' as const,
  };
  // Past float64's range: a name's wide value, or none (a derivative of such a value is float64's).
  const origin = d.outOfRange.get(s.lhs.kind === 'deriv' ? s.lhs.of : s.lhs.name);
  if (!origin) return base;
  const w = s.lhs.kind === 'name' ? d.wide.get(s.lhs.name) : null;
  return w
    ? { ...base, computed: formatWide(w) }
    : { ...base, computed: '?', note: `cannot compute it: float64 cannot hold ${origin.name} (line ${origin.line})` };
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

function judge(d: Derivation, s: Statement, target: Tensor): Verdict {
  const claim = literalTensor(s.claim!);
  const isDeriv = s.lhs.kind === 'deriv';
  const lhsText = s.lhs.kind === 'deriv' ? derivText(s.lhs) : s.lhs.name;
  // A line computed exactly shows its exact value (1e300 - 3.9 - 1e300 is -3.9, not float64's 0).
  const exactOfLine = s.lhs.kind === 'name' ? d.exact.get(s.lhs.name) : null;
  const base = {
    line: s.line,
    claim: lhsText,
    expression: s.exprs.length ? show(s.exprs[0]) : '',
    claimed: show(s.claim!),
    computed: formatValue(exactOfLine ? [toNumber(exactOfLine)] : target.toFlatArray(), target.shape),
  };
  if (claim.value.shape.join() !== target.shape.join()) {
    return { ...base, verdict: 'wrong', note: `the claim has shape ${formatShape(claim.value.shape)} but the value has ${formatShape(target.shape)}` };
  }
  const origin = d.outOfRange.get(s.lhs.kind === 'deriv' ? s.lhs.of : s.lhs.name);
  if (s.lhs.kind === 'name' && origin) return judgeWide(d, s, base, origin);
  const exact = target.toFlatArray();
  if (s.lhs.kind === 'deriv' && (origin || exact.some((x) => !Number.isFinite(x)))) {
    const why = origin
      ? `float64 cannot hold ${origin.name === s.lhs.of ? `a step of ${origin.name}` : `${origin.name}`} (line ${origin.line})`
      : `float64 gives ${formatValue(target)}`;
    return { ...base, verdict: 'undecided', note: `cannot decide: ${why}, and derivatives are computed in float64` };
  }
  const unit = (i: number) => claim.units[i] ?? claim.units[0];
  // Steps written between the definition and the claim must agree with the value too.
  const steps = isDeriv ? s.exprs : s.exprs.slice(1);
  for (const step of steps) {
    const v = atLine(s.line, () => d.tape.noRecord(() => evalNode(step, d.tape, d.exactEnv(s.line), s.line))).toFlatArray();
    const agrees = v.every((x, i) => Math.abs(x - exact[i]) <= Math.max(unit(i), 1e-3 * Math.abs(exact[i])));
    if (!agrees) return { ...base, verdict: 'wrong', note: `the step ${show(step)} gives ${formatValue(v, target.shape)}, not ${formatValue(target)}` };
  }
  const how = claimFit(d, s, target);
  if (how) return { ...base, verdict: 'ok', ...(how === 'truncated' ? { truncated: true } : {}) };
  // The student's own line (for a derivative written bare, the chain rule one step downstream) at the values written.
  const computed = s.exprs.length > 0 ? recomputeLine(d, s) : recomputeDerivative(d, s);
  const re = computed && (computed.exact || computed.values.every(Number.isFinite)) ? computed : null; // past float64's range from the values written: none
  const decimals = literalDecimals(s.claim!);
  const shown = re && formatValue(re.exact ? [toNumber(re.exact)] : re.values, target.shape);
  if (re && decimals.every((c, i) => fit(re.exact ?? fromComputed(re.values[i], c.last), c.value, c.last))) {
    return { ...base, verdict: 'rounding', note: `recomputed from the values written: ${shown}` };
  }
  const also = shown && shown !== base.computed ? ` (from the values written: ${shown})` : '';
  return { ...base, verdict: 'wrong', note: `should be ${base.computed}${also}` };
}

/** The inputs an expression reads, as written: names and derivatives claimed, or else exact. */
function writtenInputs(d: Derivation, nodes: Node[], line: number): Inputs {
  const inputs: Inputs = new Map();
  for (const node of nodes) {
    const r = references(node);
    for (const n of r.names) {
      const def = d.defs.get(n)!;
      const claimed = !!def.claim && def.exprs.length > 0;
      inputs.set(`n:${n}`, { value: claimed ? literalTensor(def.claim!).value : d.values.get(n)!.detach(), claimed });
    }
    for (const { of, wrt, wrt2 } of r.derivs) {
      const c = d.derivClaims.get(derivKey(of, wrt, wrt2))?.claim;
      inputs.set(
        `d:${of}|${wrt}|${wrt2 ?? ''}`,
        c ? { value: literalTensor(c).value, claimed: true } : { value: d.exactDeriv(of, wrt, line, wrt2), claimed: false },
      );
    }
  }
  return inputs;
}

function envFrom(get: (key: string) => Tensor): Env {
  return { name: (n) => get(`n:${n}`), deriv: (of, wrt, wrt2) => get(`d:${of}|${wrt}|${wrt2 ?? ''}`) };
}

/** A scalar claim's written value exactly (a given's or an unclaimed line's exact value where there is one). */
function writtenExact(d: Derivation, name: string): Rational | null {
  const def = d.defs.get(name)!;
  if (def.claim && def.exprs.length > 0) {
    const c = literalDecimals(def.claim);
    return c.length === 1 ? c[0].value : null;
  }
  return d.exact.get(name) ?? null;
}

/**
 * The line's first expression at the values written: exactly where exact.ts can (+ - * / of
 * decimals: 0.286 * 7000 is 2002, not a double near it), else in float64.
 */
function recomputeLine(d: Derivation, s: Statement): { values: number[]; exact: Rational | null } | null {
  const expr = s.exprs[0];
  const inputs = writtenInputs(d, [expr], s.line);
  const t = new Tape();
  const values = recompute(inputs, (get) => t.noRecord(() => evalNode(expr, t, envFrom(get), s.line)));
  if (!values) return null;
  const exact =
    values.length === 1
      ? exactValue(
          expr,
          (n) => writtenExact(d, n),
          (of, wrt, wrt2) => {
            const c = d.derivClaims.get(derivKey(of, wrt, wrt2))?.claim;
            const w = c && literalDecimals(c);
            return w && w.length === 1 ? w[0].value : null;
          },
        )
      : null;
  return { values, exact };
}

/**
 * A derivative written bare, dX/dY, from one step downstream: the sum over the lines C that use Y
 * directly (and that X depends on) of dX/dC (as written if claimed) times the local derivative
 * dC/dY at the values written.
 */
function recomputeDerivative(d: Derivation, s: Statement): { values: number[]; exact: null } | null {
  // A second derivative is checked against its exact value only (no one-step recomputation).
  if (s.lhs.kind !== 'deriv' || s.lhs.wrt2 !== undefined) return null;
  const { of: X, wrt: Y } = s.lhs;
  const consumers = d.statements.filter(
    (c) => c.lhs.kind === 'name' && c.exprs.length > 0 && references(c.exprs[0]).names.has(Y) && d.dependsOn(X, c.lhs.name),
  );
  if (consumers.length === 0) return null;
  const inputs: Inputs = writtenInputs(
    d,
    consumers.map((c) => c.exprs[0]),
    s.line,
  );
  for (const c of consumers) {
    const C = (c.lhs as { name: string }).name;
    if (C === X) continue;
    const claim = d.derivClaims.get(derivKey(X, C))?.claim;
    inputs.set(`g:${C}`, claim ? { value: literalTensor(claim).value, claimed: true } : { value: d.exactDeriv(X, C, s.line), claimed: false });
  }
  const values = recompute(inputs, (get) => {
    let total: Tensor | null = null;
    for (const c of consumers) {
      const C = (c.lhs as { name: string }).name;
      const t = new Tape();
      const y = new Tensor(get(`n:${Y}`).array, { requiresGrad: true });
      const env = envFrom((key) => (key === `n:${Y}` ? y : get(key)));
      const out = evalNode(c.exprs[0], t, env, c.line);
      // At the values written a line may not be finite (tanh(0) as a divisor): no recomputation then.
      if (!out.toFlatArray().every(Number.isFinite)) return tensor(new Float64Array(y.size).fill(NaN), { shape: y.shape });
      const g = C === X ? undefined : get(`g:${C}`);
      const local = t.gradients(out, [y], g ? { grad: g } : {})[0];
      total = total ? new Tape().add(total, local) : local;
    }
    return total!;
  });
  return values && { values, exact: null };
}

/** Where a recomputation or a step reads a derivative: in wide arithmetic, none of a value float64 cannot hold. */
const wideDeriv = (d: Derivation, line: number) => (of: string, wrt: string, wrt2?: string) => {
  if (d.outOfRange.has(of)) return null;
  const g = d.exactDeriv(of, wrt, line, wrt2);
  return g.size === 1 ? fromNumber(g.item()) : null;
};

/** A wide value as the fraction it stands for: within float64's range, its float noise snapped as fromComputed does. */
function wideRational(w: Wide, last: number): Rational {
  const x = wideToNumber(w);
  return Number.isFinite(x) && (w.m === 0 || Math.abs(x) >= 2 ** -1022) ? fromComputed(x, last) : toRational(w);
}

/**
 * A claimed line float64 cannot evaluate (one of its steps, or of the lines it uses, is out of its
 * range): judged by the same rule on its value in wide arithmetic (wide.ts), or undecided.
 */
function judgeWide(d: Derivation, s: Statement, base: Omit<Verdict, 'verdict'>, origin: { line: number; name: string }): Verdict {
  const name = (s.lhs as { name: string }).name;
  const why = origin.name === name ? 'float64 cannot hold a step of this line' : `float64 cannot hold ${origin.name} (line ${origin.line})`;
  const w = d.wide.get(name);
  const [c, ...more] = literalDecimals(s.claim!);
  if (!w || more.length > 0)
    return {
      ...base,
      verdict: 'undecided',
      note: `cannot decide: ${why}, and this line has no value past float64's range here (a matrix, or log of a negative number)`,
    };
  const exact = d.exact.get(name);
  const computed = formatWide(w); // the exact fraction, where there is one, agrees to its digits
  const unit = 10 ** c.last;
  for (const step of s.exprs.slice(1)) {
    const v = wideValue(step, (n) => d.wide.get(n) ?? null, wideDeriv(d, s.line)).value;
    if (!v)
      return { ...base, computed, verdict: 'undecided', note: `cannot decide: ${why}, and the step ${show(step)} has no value past float64's range here` };
    if (!agrees(v, w, unit, 1e-3)) return { ...base, computed, verdict: 'wrong', note: `the step ${show(step)} gives ${formatWide(v)}, not ${computed}` };
  }
  const how = fit(exact ?? wideRational(w, c.last), c.value, c.last);
  if (how) return { ...base, computed, verdict: 'ok', ...(how === 'truncated' ? { truncated: true } : {}) };
  // The line at the values written, in wide arithmetic too.
  const inputs = writtenInputs(d, [s.exprs[0]], s.line);
  const written = (key: string) => {
    const input = inputs.get(key);
    return input?.claimed && input.value.size === 1 ? fromNumber(input.value.item()) : null;
  };
  const re = [...inputs.values()].some((i) => i.claimed)
    ? wideValue(
        s.exprs[0],
        (n) => written(`n:${n}`) ?? d.wide.get(n) ?? null,
        (of, wrt, wrt2) => written(`d:${of}|${wrt}|${wrt2 ?? ''}`) ?? wideDeriv(d, s.line)(of, wrt, wrt2),
      ).value
    : null;
  if (re && fit(wideRational(re, c.last), c.value, c.last))
    return { ...base, computed, verdict: 'rounding', note: `recomputed from the values written: ${formatWide(re)}` };
  const also = re && formatWide(re) !== computed ? ` (from the values written: ${formatWide(re)})` : '';
  return { ...base, computed, verdict: 'wrong', note: `should be ${computed}${also}` };
}
