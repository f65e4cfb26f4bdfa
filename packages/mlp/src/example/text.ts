/**
 * `backprop example`'s flags to the text of a worked example or an exercise: the defaults, the
 * checks of each flag, the header's command line. The CLI and the site (packages/web) share it.
 */
import type { ActivationName } from '../activations.ts';
import { parseLayers } from '../mlp.ts';
import { generateExample } from './generate.ts';
import type { OutputActivation } from './network.ts';
import { classifies, drawValues, paperExample, type ExampleLoss, type ExampleValues } from './values.ts';

/** What `backprop example` is asked for, as its flags. */
export type ExampleArgs = {
  layers?: string;
  activation?: ActivationName;
  loss?: ExampleLoss;
  output?: OutputActivation;
  lr?: number;
  seed: number;
  digits: number;
  values?: string;
  'from-paper'?: boolean;
  exercise?: boolean;
  matrix?: boolean;
  out?: string;
};

/** A hand calculation has to stay one: past this many weights it is no longer worked by hand. */
const MAX_WEIGHTS = 500;

/** Reads a --values file: the CLI's (a page has no files; there `values` stays unset). */
export type ValuesReader = (path: string, loss: ExampleLoss, layers?: number[]) => ExampleValues;

/** The file `backprop example` writes for these flags; the errors name the flag at fault. */
export function exampleText(args: ExampleArgs, readValues?: ValuesReader): string {
  if (!Number.isInteger(args.digits) || args.digits < 1 || args.digits > 12)
    throw new Error(`--digits ${args.digits}: expected a whole number from 1 to 12 (float64 holds about 16 digits, and the checker allows for its rounding)`);
  if (!Number.isInteger(args.seed) || args.seed < 0) throw new Error(`--seed ${args.seed}: expected a non-negative integer`);
  if (args.lr !== undefined && !(Number.isFinite(args.lr) && args.lr > 0)) throw new Error(`--lr ${args.lr}: expected a positive number`);
  const paper = args['from-paper'];
  if (paper) {
    for (const [flag, given, theirs] of [
      ['--activation', args.activation, paperExample.activation],
      ['--loss', args.loss, paperExample.loss],
      ['--layers', args.layers, '2,2,1'],
    ] as const) {
      if (given !== undefined && given !== theirs)
        throw new Error(`--from-paper: the paper's example has ${flag} ${theirs}, not ${given}; drop ${flag}, or give the numbers with --values`);
    }
  }
  const activation = args.activation ?? (paper ? paperExample.activation : 'sigmoid');
  const loss = args.loss ?? (paper ? paperExample.loss : 'mse');
  const lr = args.lr ?? 0.5;
  const output = args.output ?? (classifies(loss) ? 'linear' : activation);
  const layers = args.layers === undefined ? undefined : parseLayers(args.layers);
  let values: ExampleValues, source: string | undefined;
  if (paper) {
    values = paperExample.values;
    source = "The paper's Figures 3-4 (Figure 3's values, with I2 = 0.25 as its h1 and h2 lines need; h2 has no bias).";
  } else if (args.values) {
    if (!readValues) throw new Error(`--values ${args.values}: no file can be read here; give the numbers by --seed or --from-paper`);
    values = readValues(args.values, loss, layers);
    source = `The numbers of ${args.values}.`;
  } else values = drawValues(layers ?? [2, 2, 2], loss, args.seed);
  const { sizes } = values;
  const weights = sizes.slice(1).reduce((n, out, l) => n + sizes[l] * out, 0);
  if (weights > MAX_WEIGHTS)
    throw new Error(`--layers ${sizes.join(',')}: ${weights} weights are too many to work by hand; a worked example takes at most ${MAX_WEIGHTS}`);
  if (classifies(loss) && sizes[sizes.length - 1] < 2)
    throw new Error(`--loss ${loss}: a classifier needs at least 2 outputs, and --layers ${sizes.join(',')} has 1`);
  const command = [
    'backprop example',
    paper ? '--from-paper' : args.values ? `--values ${args.values}` : `--layers ${sizes.join(',')}`,
    `--activation ${activation}`,
    `--loss ${loss}`,
    ...(args.output ? [`--output ${output}`] : []),
    ...(paper || args.values ? [] : [`--seed ${args.seed}`]),
    `--lr ${lr}`,
    `--digits ${args.digits}`,
    ...(args.matrix ? ['--matrix'] : []),
    ...(args.exercise ? ['--exercise'] : []),
  ].join(' ');
  return generateExample({
    spec: { values, activation, output, loss, lr },
    digits: args.digits,
    exercise: !!args.exercise,
    matrix: !!args.matrix,
    command,
    source,
  });
}
