/** `backprop example`: a worked example (or an exercise) for a small network, as a derivation file. */
import type { Argv } from 'yargs';
import { activationNames, writeFileAtomic, type ActivationName } from '@backprop/mlp';
import { generateExample } from '../example/generate.ts';
import type { OutputActivation } from '../example/network.ts';
import { classifies, drawValues, exampleLosses, paperExample, readValues, type ExampleLoss, type ExampleValues } from '../example/values.ts';
import { parseLayers } from './train.ts';

export const exampleOptions = (y: Argv) =>
  y
    .option('layers', { type: 'string', describe: 'layer sizes, inputs first [default: 2,2,2]' })
    .option('activation', { choices: activationNames, describe: 'of the hidden layers [default: sigmoid]' })
    .option('loss', { choices: exampleLosses, describe: 'mse: sum of (o - y)^2; half-sse: half of it [default: mse]' })
    .option('output', {
      choices: ['linear', ...activationNames],
      describe: "the output layer's activation [default: the hidden one for mse and half-sse, linear for hinge and ce]",
    })
    .option('lr', { type: 'number', describe: 'learning rate [default: 0.5]' })
    .option('seed', { type: 'number', default: 1, describe: 'seed of the inputs, weights, biases and targets' })
    .option('digits', { type: 'number', default: 6, describe: 'significant digits of every value' })
    .option('values', { type: 'string', describe: 'a JSON file of the inputs, weights, biases and targets (a published example)' })
    .option('from-paper', { type: 'boolean', describe: "the paper's Figures 3-4 example (2-2-1, sigmoid, mse, lr 0.5)" })
    .option('exercise', { type: 'boolean', describe: 'leave every value blank (= ?) for a student to fill in' })
    .option('matrix', { type: 'boolean', describe: "the matrix form of the paper's §2.1 (H1 = sigmoid(X @ W1 + b1))" })
    .option('out', { type: 'string', describe: 'write the file here (default: print it)' })
    .check((a) => {
      if (a['from-paper'] && a.values) throw new Error('--from-paper and --values both give the numbers; choose one');
      return true;
    });

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

/** The file `backprop example` writes for these flags. */
export function exampleText(args: ExampleArgs): string {
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

export function exampleCommand(args: ExampleArgs): number {
  const text = exampleText(args);
  if (args.out) writeFileAtomic(args.out, text);
  else process.stdout.write(text);
  return 0;
}
