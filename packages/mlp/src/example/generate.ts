/** A worked example (or an exercise) as the text of a derivation file, checked by `backprop check` before it is handed out. */
import { checkSource } from '../check/evaluate.ts';
import { writeLines, type Line, type Value } from './lines.ts';
import { matrixLines } from './matrix.ts';
import { step, type ExampleSpec } from './network.ts';
import { scalarLines } from './scalar.ts';

export interface ExampleOptions {
  spec: ExampleSpec;
  /** Significant digits of every claim. */
  digits: number;
  /** Blanks (`= ?`) in place of the claims. */
  exercise: boolean;
  /** §2.1's matrix notation instead of one line per unit. */
  matrix: boolean;
  /** The command that makes this file, for its header. */
  command: string;
  /** A line saying where the numbers come from, if not from a seed. */
  source?: string;
}

const lossText = {
  mse: 'squared error l = sum of (o - y)^2',
  'half-sse': 'squared error l = 1/2 sum of (o - y)^2',
  hinge: 'multiclass hinge loss l = sum over j != y of max(0, o_j - o_y + 1)',
  ce: 'cross-entropy of the softmax l = -log p_y',
};

function describe({ spec }: ExampleOptions): string {
  const hidden = spec.values.sizes.length - 2;
  const layers = hidden === 0 ? '' : `${spec.activation} hidden layer${hidden > 1 ? 's' : ''}, `;
  const output = spec.output === 'linear' ? 'linear output (scores)' : `${spec.output} output`;
  return `a ${spec.values.sizes.join('-')} network:\n${layers}${output}, ${lossText[spec.loss]}, learning rate ${spec.lr}.`;
}

/** The file's text. Throws if the worked example does not check ok line by line (a bug here, never the user's). */
export function generateExample(options: ExampleOptions): string {
  const { spec, digits, exercise, matrix } = options;
  const lines = (matrix ? matrixLines : scalarLines)(spec, step(spec));
  const overflow = lines.find((l) => l.kind === 'claim' && [l.value].flat(2).some((x) => !Number.isFinite(x)));
  if (overflow?.kind === 'claim') {
    throw new Error(
      `${overflow.lhs} comes out ${[overflow.value].flat(2).find((x) => !Number.isFinite(x))} in float64: the inputs or weights are too large for this network; choose smaller ones`,
    );
  }
  const header =
    (exercise
      ? [
          `An exercise: one step of gradient descent by hand on ${describe(options)}`,
          ...(options.source ? [options.source] : []),
          options.command,
          `Replace each ? with its value to ${digits} significant digits; \`backprop check FILE\` grades every line`,
          '(on the file as it is, it prints the value each ? should have).',
        ]
      : [
          `A worked example: one step of gradient descent by hand on ${describe(options)}`,
          ...(options.source ? [options.source] : []),
          options.command,
          `Every value to ${digits} significant digits; \`backprop check FILE\` checks each line.`,
        ]
    )
      .join('\n')
      .split('\n')
      .map((l) => `# ${l}`)
      .join('\n') + '\n\n';
  let worked = header + writeLines(lines, digits, false);
  let checked = checkSource(worked);
  if (checked.report.verdicts.some((v) => v.verdict !== 'ok')) {
    // At many digits a value may sit so close to a rounding boundary that float64's last bits,
    // summed in another order, fall on the other side: take the checker's value for those lines
    // (only where it agrees with ours to 1e-9: anything more is a bug, and reported as one).
    adoptCheckerValues(checked, lines);
    worked = header + writeLines(lines, digits, false);
    checked = checkSource(worked);
  }
  const notOk = checked.report.verdicts.find((v) => v.verdict !== 'ok');
  if (notOk) {
    throw new Error(
      `internal error: line ${notOk.line} of the generated example (${notOk.claim} = ${notOk.claimed}) checks as ${notOk.verdict}, computed ${notOk.computed}; please report it with the command`,
    );
  }
  return exercise ? header + writeLines(lines, digits, true) : worked;
}

/** Replaces the value of each line that does not check ok by the checker's, where the two differ by float64 noise only. */
function adoptCheckerValues({ derivation: d, report }: ReturnType<typeof checkSource>, lines: Line[]): void {
  const byLine = new Map(d.statements.map((s) => [s.line, s]));
  for (const v of report.verdicts.filter((x) => x.verdict !== 'ok')) {
    const s = byLine.get(v.line)!;
    const theirs = (s.lhs.kind === 'name' ? d.values.get(s.lhs.name)! : d.exactDeriv(s.lhs.of, s.lhs.wrt, s.line)).toFlatArray();
    const line = lines.find((l) => l.kind === 'claim' && l.lhs === v.claim) as Extract<Line, { kind: 'claim' }> | undefined;
    if (!line) continue;
    const ours = [line.value].flat(2);
    if (ours.length !== theirs.length || ours.some((x, i) => Math.abs(x - theirs[i]) > 1e-9 * Math.max(Math.abs(x), 1e-300))) continue;
    line.value = reshape(theirs, line.value);
  }
}

/** Flat numbers in the nesting of `like`. */
function reshape(flat: number[], like: Value): Value {
  if (typeof like === 'number') return flat[0];
  if (like.length > 0 && Array.isArray(like[0])) {
    const cols = (like[0] as number[]).length;
    return (like as number[][]).map((_, i) => flat.slice(i * cols, (i + 1) * cols));
  }
  return flat;
}
