/**
 * A run's metrics.jsonl, as `report` reads it: every number checked to be one, and, once the run
 * has finished, every line checked against the checksum the run recorded for it in summary.json,
 * so that a value changed since the run wrote it is named rather than reported.
 */
import { createHash } from 'node:crypto';

/** The first 16 hex digits of each line's SHA-256: what summary.json records as `metricsLines`. */
export function lineChecksums(lines: string[]): string[] {
  return lines.map((line) => createHash('sha256').update(line).digest('hex').slice(0, 16));
}

/** The fields of a line that must be numbers (null: a loss that was NaN or infinite). */
const numbers: Record<string, { fields: string[]; nullable?: string[] }> = {
  iterations: { fields: ['first'] },
  epoch: {
    fields: ['iteration', 'seconds'],
    nullable: ['meanIterationLoss', 'trainLoss', 'testLoss', 'validationAccuracy', 'validationLoss', 'lr', 'validationMse', 'validationMae'],
  },
};

/** An epoch line's metric: accuracy (classification), or the MSE or MAE of a regression run. */
const METRICS = ['Accuracy', 'Mse', 'Mae'];

/**
 * The fields of an evaluation's metric in a line of metrics, named after the set:
 * { trainAccuracy } for classification, { trainMse } or { trainMae } for regression.
 */
export function metricFields(set: string, e: { accuracy?: number; mse?: number; mae?: number }): Record<string, number> {
  if (e.accuracy !== undefined) return { [`${set}Accuracy`]: e.accuracy };
  return e.mae !== undefined ? { [`${set}Mae`]: e.mae } : { [`${set}Mse`]: e.mse ?? NaN };
}

/** What is wrong with a parsed line of metrics (its numbers), or undefined. */
export function metricsLineProblem(m: Record<string, unknown>): string | undefined {
  const kind = numbers[m.type as string];
  if (!kind) return `type ${JSON.stringify(m.type)} is neither "iterations" nor "epoch"`;
  if (!Number.isInteger(m.epoch)) return `"epoch" is ${JSON.stringify(m.epoch)}, not a whole number`;
  const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  for (const f of kind.fields) if (!isNumber(m[f])) return `"${f}" is ${JSON.stringify(m[f]) ?? 'missing'}, not a number`;
  if (m.type === 'epoch') {
    const metric = METRICS.find((name) => `train${name}` in m) ?? 'Accuracy';
    // MSE and MAE may be infinite or NaN (null) when a regression network's outputs overflow; an accuracy is always a fraction.
    for (const f of [`train${metric}`, `test${metric}`]) {
      if (!isNumber(m[f]) && !(metric !== 'Accuracy' && m[f] === null)) return `"${f}" is ${JSON.stringify(m[f]) ?? 'missing'}, not a number`;
    }
  }
  for (const f of kind.nullable ?? []) if (f in m && m[f] !== null && !isNumber(m[f])) return `"${f}" is ${JSON.stringify(m[f])}, not a number`;
  for (const f of ['trainAccuracy', 'testAccuracy', 'validationAccuracy']) {
    if (typeof m[f] === 'number' && !((m[f] as number) >= 0 && (m[f] as number) <= 1)) return `"${f}" is ${m[f]}, not a fraction between 0 and 1`;
  }
  if (m.type === 'iterations') {
    if (!Array.isArray(m.losses)) return `"losses" is ${JSON.stringify(m.losses) ?? 'missing'}, not a list of numbers`;
    const bad = m.losses.findIndex((l) => l !== null && !isNumber(l));
    if (bad >= 0) return `"losses"[${bad}] is ${JSON.stringify(m.losses[bad])}, not a number`;
  }
  return undefined;
}
