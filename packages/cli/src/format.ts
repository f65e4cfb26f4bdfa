/** Plain-text tables for the terminal. */
export function table(headers: string[], rows: string[][], align: ('l' | 'r')[] = []): string {
  // A loop, not Math.max(...rows): spreading a long table's rows overflows the stack.
  const widths = headers.map((h) => h.length);
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export const truncate = (s: string, n: number) => (s.length <= n ? s : s.slice(0, n - 3) + '...');

/** A fraction as a percentage with two decimals; '-' when there is none. */
export const pct = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(2)}%`);

/** An evaluation's metric as shown: the accuracy as a percentage, or "MSE 0.0123" / "MAE 0.0123" for regression. */
export function metricText(e: { accuracy?: number; mse?: number | null; mae?: number | null }): string {
  if (e.accuracy !== undefined) return pct(e.accuracy);
  // null: a NaN or infinite error, as JSON keeps it
  const show = (x: number | null | undefined) => (x === undefined ? '-' : x === null ? 'NaN' : x.toFixed(4));
  return e.mae !== undefined ? `MAE ${show(e.mae)}` : `MSE ${show(e.mse)}`;
}
