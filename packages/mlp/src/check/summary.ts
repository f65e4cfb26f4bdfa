/** A check's result in one line, as `backprop check` prints it under its table and the site shows it. */
import type { CheckReport } from './evaluate.ts';

/** `12 claims: 8 ok (3 truncated), 4 rounding, 0 wrong; score 12/12`, and the blanks if any. */
export function summarize(report: CheckReport): string {
  const { ok, rounding, wrong, blank, undecided } = report.counts;
  const claims = report.verdicts.length - blank;
  if (claims === 0 && blank > 0) return `${blank} blank${blank === 1 ? '' : 's'}: the computed column holds the value each should have`;
  const truncated = report.verdicts.filter((v) => v.truncated).length;
  const blanks = blank ? `, ${blank} blank` : '';
  const open = undecided ? `, ${undecided} cannot decide (not scored)` : '';
  return `${claims} claim${claims === 1 ? '' : 's'}: ${ok} ok${truncated ? ` (${truncated} truncated)` : ''}, ${rounding} rounding, ${wrong} wrong${open}${blanks}; score ${report.score.right}/${report.score.of}`;
}
