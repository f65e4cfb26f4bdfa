/** `backprop example`: a worked example (or an exercise) for a small network, as a derivation file. */
import type { Argv } from 'yargs';
import { activationNames, writeFileAtomic } from '@backprop/mlp';
import { exampleLosses, exampleText as textOf, type ExampleArgs } from '@backprop/mlp/example';
import { readValues } from '../example/values.ts';

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

export type { ExampleArgs };

/** The file `backprop example` writes for these flags. */
export const exampleText = (args: ExampleArgs): string => textOf(args, readValues);

export function exampleCommand(args: ExampleArgs): number {
  const text = exampleText(args);
  if (args.out) writeFileAtomic(args.out, text);
  else process.stdout.write(text);
  return 0;
}
