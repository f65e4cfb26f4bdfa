/**
 * gradcheck: the tape's gradients against central finite differences in float64.
 *
 * An entry passes when |analytic - numeric| <= atol + rtol |numeric| (PyTorch's rule). At a kink
 * (relu at 0, a hinge margin at exactly 0, a tie in max) the two sides of the function have
 * different slopes and the central difference is their average; there an analytic value lying
 * between the one-sided differences is accepted, and counted in the report as a kink.
 */
import { Rng } from './random.ts';
import { Tape } from './tape.ts';
import { contiguous, formatShape, Tensor } from './tensor.ts';
import * as k from './kernels/index.ts';

/** How `gradcheck` compares; every field has a default. */
export interface GradcheckOptions {
  /** Step of the finite differences (default 1e-6). */
  eps?: number;
  /** Absolute tolerance: an entry passes when |analytic - numeric| <= atol + rtol |numeric| (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-3). */
  rtol?: number;
  /** 'full' checks every entry; 'fast' checks random directional derivatives v^T J u; 'auto' picks by size. */
  mode?: 'full' | 'fast' | 'auto';
  /** In 'auto' mode, inputs with more entries than this are checked in 'fast' mode (default 512). */
  fullLimit?: number;
  /** Random directions per input in 'fast' mode (default 4). */
  directions?: number;
  /** Seed of the upstream gradient and of the directions. */
  seed?: number;
  /**
   * Gradients to check instead of the tape's, one per input (for the same scalar output, or for
   * the same upstream gradient): a hand-derived backward pass, say.
   */
  against?: readonly Tensor[];
  /**
   * Record `fn` on the tape when evaluating it for the finite differences, too (for a function that
   * itself takes gradients, as `gradgradcheck`'s does); by default it runs unrecorded.
   */
  record?: boolean;
}

/** What `gradcheck` found for one input. */
export interface InputReport {
  /** The input's position in `inputs`. */
  input: number;
  /** The input's name, if it has one. */
  name: string | undefined;
  shape: number[];
  /** Every entry compared ('full'), or random directional derivatives ('fast'). */
  mode: 'full' | 'fast';
  /** Entries (full) or directions (fast) compared. */
  checked: number;
  /** Every entry or direction within tolerance. */
  ok: boolean;
  /** The largest |analytic - numeric|. */
  maxAbsError: number;
  /** The largest |analytic - numeric| / |numeric|. */
  maxRelError: number;
  /** Where the error is largest relative to its tolerance: an index (full) or a direction number (fast). */
  worst: { at: number[]; analytic: number; numeric: number };
  /** Entries or directions accepted because the analytic value lies between the one-sided differences. */
  kinks: number;
}

/** `gradcheck`'s verdict: overall, per input, and as printable lines. */
export interface GradcheckReport {
  /** Every input passed. */
  ok: boolean;
  /** One report per input, in order. */
  inputs: InputReport[];
  /** One line per input, for printing. */
  summary: string;
}

/** A function of the inputs, recorded on the given tape; non-tensor arguments (labels, ...) are closed over. */
export type CheckedFunction = (tape: Tape, ...inputs: Tensor[]) => Tensor;

/**
 * Checks the tape's gradients of `fn` at `inputs` (float64 tensors) against central finite differences
 * in float64, and reports per input: `expect(gradcheck(f, [x, w]).ok).toBe(true)`.
 * A non-scalar output is checked through a random upstream gradient.
 */
export function gradcheck(fn: CheckedFunction, inputs: readonly Tensor[], options: GradcheckOptions = {}): GradcheckReport {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3, mode = 'auto', fullLimit = 512, directions = 4, seed = 1 } = options;
  inputs.forEach((x, i) => {
    if (x.dtype !== 'float64') {
      throw new Error(
        `gradcheck: input ${i}${x.name ? ` (${x.name})` : ''} is ${x.dtype}: finite differences need float64 ` +
          `(float32 keeps ~7 digits, so a difference over a step of ${eps} is mostly rounding); create it with { dtype: 'float64' }`,
      );
    }
  });
  const rng = Rng.seeded(seed);
  const xs = inputs.map((x) => new Tensor(contiguous(x.array, 'float64'), { requiresGrad: true, name: x.name }));
  const tape = new Tape();
  const out = fn(tape, ...xs);
  // A non-scalar output is checked through l = sum(v * out) for a random v: an upstream gradient other than 1.
  // Its entries are bounded away from 0 (|v| in [0.5, 1.5)), so no entry of the output goes unchecked.
  const v = out.size === 1 ? null : rng.tensor(out.shape, (r) => (r.uniform() < 0.5 ? -1 : 1) * (0.5 + r.uniform()), { dtype: 'float64' });
  if (options.against && (v || options.against.some((g, i) => g.shape.join() !== xs[i].shape.join()))) {
    throw new Error("gradcheck: `against` needs a one-element output and one gradient of each input's shape");
  }
  const analytic = options.against ?? tape.gradients(out, xs, v ? { grad: v } : {});
  const vFlat = v ? k.flat(v.array) : null;
  const loss = (): number => {
    const t = new Tape();
    const o = options.record ? fn(t, ...xs) : t.noRecord(() => fn(t, ...xs));
    const values = k.flat(o.array);
    let s = 0;
    for (let i = 0; i < values.length; i++) s += (vFlat ? vFlat[i] : 1) * values[i];
    return s;
  };
  const base = loss();
  const tolerance = (numeric: number) => atol + rtol * Math.abs(numeric);

  const reports = xs.map((x, i): InputReport => {
    const data = x.array.data;
    const grad = k.flat(analytic[i].array);
    const full = mode === 'full' || (mode === 'auto' && x.size <= fullLimit);
    const report: InputReport = {
      input: i,
      name: x.name,
      shape: x.shape,
      mode: full ? 'full' : 'fast',
      checked: 0,
      ok: true,
      maxAbsError: 0,
      maxRelError: 0,
      worst: { at: [], analytic: 0, numeric: 0 },
      kinks: 0,
    };
    let worstRank = -1;
    const compare = (at: number[], a: number, plus: number, minus: number) => {
      const numeric = (plus - minus) / (2 * eps);
      const err = Math.abs(a - numeric);
      report.checked++;
      report.maxAbsError = Math.max(report.maxAbsError, err);
      const scale = Math.max(Math.abs(a), Math.abs(numeric));
      report.maxRelError = Math.max(report.maxRelError, scale === 0 ? 0 : err / scale);
      let ok = err <= tolerance(numeric);
      if (!ok) {
        const right = (plus - base) / eps,
          left = (base - minus) / eps;
        const lo = Math.min(left, right) - tolerance(left),
          hi = Math.max(left, right) + tolerance(right);
        if (a >= lo && a <= hi) {
          report.kinks++;
          ok = true;
        }
      }
      // The worst entry is a failing one if any fails, then the one furthest into its tolerance.
      const rank = (ok ? 0 : 1e12) + err / tolerance(numeric);
      if (!ok) report.ok = false;
      if (rank > worstRank) {
        worstRank = rank;
        report.worst = { at, analytic: a, numeric };
      }
    };
    if (full) {
      for (let j = 0; j < data.length; j++) {
        const orig = data[j];
        data[j] = orig + eps;
        const plus = loss();
        data[j] = orig - eps;
        const minus = loss();
        data[j] = orig;
        compare(k.unravel(j, x.shape), grad[j], plus, minus);
      }
    } else {
      const saved = data.slice();
      for (let d = 0; d < directions; d++) {
        const u = rng.randn([data.length], { dtype: 'float64' }).array.data;
        let a = 0;
        for (let j = 0; j < data.length; j++) a += grad[j] * u[j];
        for (let j = 0; j < data.length; j++) data[j] = saved[j] + eps * u[j];
        const plus = loss();
        for (let j = 0; j < data.length; j++) data[j] = saved[j] - eps * u[j];
        const minus = loss();
        data.set(saved);
        compare([d], a, plus, minus);
      }
    }
    return report;
  });
  return { ok: reports.every((r) => r.ok), inputs: reports, summary: reports.map(describe).join('\n') };
}

const fmt = (x: number) => x.toExponential(2);

function describe(r: InputReport): string {
  const what = r.mode === 'full' ? `${r.checked} entries` : `${r.checked} random directions`;
  const where = r.mode === 'full' ? `at ${formatShape(r.worst.at)}` : `along direction ${r.worst.at[0]}`;
  const kinks = r.kinks ? `; ${r.kinks} at a kink, accepted between the one-sided differences` : '';
  return (
    `input ${r.input}${r.name ? ` (${r.name})` : ''} ${formatShape(r.shape)}: ${r.ok ? 'ok' : 'MISMATCH'}, ${what}, ` +
    `max abs error ${fmt(r.maxAbsError)}, max rel error ${fmt(r.maxRelError)}; worst ${where}: ` +
    `tape ${r.worst.analytic.toPrecision(8)}, numeric ${r.worst.numeric.toPrecision(8)}${kinks}`
  );
}

/**
 * Second derivatives of `fn`, checked like `gradcheck` checks first ones: the gradient of
 * s(x) = Σ_i <w_i, dl/dx_i> (random fixed w_i; l = sum(v * out) for a random v when the output is
 * not one value), whose dl/dx_i the tape computes with { createGraph: true }, against central
 * differences of s in float64. It checks each input's Hessian-vector product H w, entry by entry
 * (or along random directions, in fast mode), with the same report, kinks included.
 */
export function gradgradcheck(fn: CheckedFunction, inputs: readonly Tensor[], options: GradcheckOptions = {}): GradcheckReport {
  if (options.against) throw new Error('gradgradcheck: `against` is for first derivatives (gradcheck)');
  const rng = Rng.seeded((options.seed ?? 1) + 7919);
  const sign = (r: Rng) => (r.uniform() < 0.5 ? -1 : 1) * (0.5 + r.uniform());
  const probe = new Tape();
  const out = probe.noRecord(() => fn(probe, ...inputs.map((x) => new Tensor(contiguous(x.array, 'float64')))));
  const v = out.size === 1 ? undefined : rng.tensor(out.shape, sign, { dtype: 'float64' });
  const ws = inputs.map((x) => rng.tensor(x.shape, sign, { dtype: 'float64' }));
  const firstOrder: CheckedFunction = (t, ...xs) => {
    const gs = t.gradients(fn(t, ...xs), xs, { grad: v, createGraph: true });
    return gs.map((g, i) => t.sum(t.mul(g, ws[i]))).reduce((a, b) => t.add(a, b));
  };
  return gradcheck(firstOrder, inputs, { ...options, record: true });
}
