/** Plain-text tables for the terminal. */
export function table(headers: string[], rows: string[][], align: ('l' | 'r')[] = []): string {
  // A loop, not Math.max(...rows): spreading a long table's rows overflows the stack.
  const widths = headers.map((h) => h.length);
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export const truncate = (s: string, n: number) => (s.length <= n ? s : s.slice(0, n - 3) + '...');

/** A fraction as a percentage with two decimals; '-' when there is none. */
export const pct = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(2)}%`);
