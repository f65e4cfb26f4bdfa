/**
 * Tables of numbers as CSV: a header row naming the columns, then one example a row. The column
 * named `label` holds integer class labels (classification); columns named `target` or
 * `target.*` hold float targets (regression); every other column is a feature. Errors name the
 * file, the line and the column.
 */
import type { NpyArray } from './npy.ts';

/** The features and the labels or targets of a CSV table, as the arrays an .npz would hold. */
export function parseCsv(text: string, path: string): { x: NpyArray; y: NpyArray } {
  const rows = text
    .split(/\r?\n/)
    .map((line, i) => ({ line: i + 1, text: line }))
    .filter((r) => r.text.trim() !== '');
  if (rows.length === 0) throw new Error(`${path}: empty; a CSV data set has a header row naming its columns, then one example a row`);
  const names = rows[0].text.split(',').map((n) => n.trim().replace(/^"(.*)"$/, '$1'));
  const label = names.indexOf('label');
  const targets = names.flatMap((n, j) => (n === 'target' || n.startsWith('target.') ? [j] : []));
  if (label < 0 && targets.length === 0)
    throw new Error(
      `${path}: no column named label (class labels) or target (regression targets); its columns are ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''}`,
    );
  if (label >= 0 && targets.length)
    throw new Error(`${path}: has both a label and a target column; a data set is classification (label) or regression (target)`);
  const ys = label >= 0 ? [label] : targets;
  const features = names.flatMap((_, j) => (ys.includes(j) ? [] : [j]));
  if (features.length === 0) throw new Error(`${path}: no feature columns, only ${names[ys[0]]}`);
  const n = rows.length - 1;
  const x = new Float64Array(n * features.length),
    y = new Float64Array(n * ys.length);
  for (let i = 0; i < n; i++) {
    const { line, text: row } = rows[i + 1];
    const cells = row.split(',');
    if (cells.length !== names.length) throw new Error(`${path}: line ${line} has ${cells.length} values, the header names ${names.length} columns`);
    const value = (j: number) => {
      const cell = cells[j].trim(),
        v = Number(cell);
      if (cell === '' || !Number.isFinite(v)) throw new Error(`${path}: line ${line}, column ${names[j]}: ${JSON.stringify(cell)} is not a finite number`);
      return v;
    };
    features.forEach((j, k) => (x[i * features.length + k] = value(j)));
    ys.forEach((j, k) => (y[i * ys.length + k] = value(j)));
    if (label >= 0 && !Number.isInteger(y[i]))
      throw new Error(`${path}: line ${line}, column label: ${cells[label].trim()} is not a class (0, 1, ...); name the column target for regression`);
  }
  const kind = label >= 0 ? 'i' : 'f';
  return {
    x: { descr: '<f8', kind: 'f', shape: [n, features.length], data: x },
    y: { descr: kind === 'i' ? '<i8' : '<f8', kind, shape: targets.length > 1 ? [n, ys.length] : [n], data: y },
  };
}
