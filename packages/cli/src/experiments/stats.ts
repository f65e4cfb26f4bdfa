/**
 * The statistics of runs over several seeds: mean, sample standard deviation, and one-sided
 * Student's t-tests (paired, one-sample, and two one-sided tests for "within a tolerance"), with
 * Student's t distribution from jstat.
 */
import jStat from 'jstat';

export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The sample standard deviation (n - 1 in the denominator); 0 for a single value. */
export function sd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export interface TTest {
  /** The t statistic, its degrees of freedom and the one-sided p-value. */
  t: number;
  df: number;
  p: number;
}

/**
 * One-sample t-test of H1: mean(xs) > mu (`greater`) or < mu (`less`). With no spread at all the
 * statistic is infinite and p is 0 or 1 (a difference the same at every seed is no accident);
 * values all exactly at mu give p = 1. Needs two values or more.
 */
export function tTest(xs: number[], mu: number, alternative: 'greater' | 'less'): TTest {
  if (xs.length < 2) throw new Error(`a t-test needs two values or more, got ${xs.length}`);
  const df = xs.length - 1,
    diff = mean(xs) - mu,
    se = sd(xs) / Math.sqrt(xs.length);
  if (se === 0) {
    const t = diff === 0 ? 0 : Math.sign(diff) * Infinity;
    return { t, df, p: (alternative === 'greater' ? t > 0 : t < 0) ? 0 : 1 };
  }
  const t = diff / se,
    below = jStat.studentt.cdf(t, df);
  return { t, df, p: alternative === 'greater' ? 1 - below : below };
}

/** Paired t-test of H1: a > b on average, pair by pair (seed by seed). */
export function pairedTTest(a: number[], b: number[]): TTest {
  if (a.length !== b.length) throw new Error(`a paired t-test needs pairs: ${a.length} values against ${b.length}`);
  return tTest(
    a.map((x, i) => x - b[i]),
    0,
    'greater',
  );
}

/**
 * Two one-sided tests (TOST) of H1: the mean of xs is within `tolerance` of `target`, i.e. both
 * mean > target - tolerance and mean < target + tolerance; its p-value is the larger of the two.
 */
export function equivalenceTest(xs: number[], target: number, tolerance: number): TTest {
  const above = tTest(xs, target - tolerance, 'greater'),
    below = tTest(xs, target + tolerance, 'less');
  return above.p >= below.p ? above : below;
}
