/** The lines of a worked example, and how they are written: as claims at N digits, or as an exercise's blanks. */

/** A number, a vector or a matrix. */
export type Value = number | number[] | number[][];

export type Line =
  | { kind: 'comment'; text: string }
  | { kind: 'space' }
  | { kind: 'given'; name: string; value: Value }
  /**
   * `lhs = expr = value`: `expr` is how a person computes it (absent when the value is read off a
   * rule, such as relu' = 0); `note` explains it in the worked example, `hint` in the exercise,
   * where `expr` is left out when `exprInExercise` is false (it would give the answer away).
   */
  | { kind: 'claim'; lhs: string; expr?: string; value: Value; note?: string; hint?: string; exprInExercise?: boolean };

/**
 * A number to `digits` significant digits, trailing zeros kept: they are part of the claim. A value
 * under 1e-14 is float64's residue of a sum that cancels exactly (the checker decides such lines in
 * exact decimals, where it is 0): written as 0, which is right for any value of that size.
 */
export function claimText(x: number, digits: number): string {
  const s = (Math.abs(x) < 1e-14 ? 0 : x).toPrecision(digits);
  return s.replace('e+', 'e');
}

/** A given as written in the file: its shortest exact decimal (0.05, not 0.050000000000000003). */
const givenText = (x: number) => String(x).replace('e+', 'e');

function valueText(v: Value, num: (x: number) => string): string {
  if (typeof v === 'number') return num(v);
  if (v.length > 0 && Array.isArray(v[0])) return `[${(v as number[][]).map((r) => `[${r.map(num).join(', ')}]`).join(', ')}]`;
  return `[${(v as number[]).map(num).join(', ')}]`;
}

/** The file's text: every claim at `digits` significant digits, or (exercise) a `?` in its place. */
export function writeLines(lines: Line[], digits: number, exercise: boolean): string {
  const out = lines.map((line) => {
    if (line.kind === 'comment') return `# ${line.text}`;
    if (line.kind === 'space') return '';
    if (line.kind === 'given') return `${line.name} = ${valueText(line.value, givenText)}`;
    const expr = line.expr && (!exercise || line.exprInExercise !== false) ? ` = ${line.expr}` : '';
    const claim = exercise ? '?' : valueText(line.value, (x) => claimText(x, digits));
    const comment = exercise ? (line.hint ?? line.note) : line.note;
    return `${line.lhs}${expr} = ${claim}${comment ? `   # ${comment}` : ''}`;
  });
  return out.join('\n') + '\n';
}
