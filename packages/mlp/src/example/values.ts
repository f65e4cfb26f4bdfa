/**
 * The numbers of a worked example: inputs, weights, biases and targets, drawn from a seed, or the
 * paper's Figures 3-4 (the CLI also reads them from a JSON file: its --values).
 */
import { Rng } from '@backprop/graph';

export type ExampleLoss = 'mse' | 'half-sse' | 'hinge' | 'ce';
export const exampleLosses: ExampleLoss[] = ['mse', 'half-sse', 'hinge', 'ce'];
export const classifies = (loss: ExampleLoss) => loss === 'hinge' || loss === 'ce';

/** A layer's bias: none, one shared by all its units (Mazur's b1), or one per unit (null: that unit has none, as the paper's h2). */
export type Bias = { kind: 'none' } | { kind: 'shared'; value: number } | { kind: 'unit'; values: (number | null)[] };

export interface ExampleValues {
  /** Layer sizes, inputs first. */
  sizes: number[];
  inputs: number[];
  /** weights[l][i][j]: from unit i of layer l to unit j of layer l + 1 ([in][out], as in X @ W). */
  weights: number[][][];
  biases: Bias[];
  /** The target of each output (mse, half-sse), or the target class, 1 to K as the outputs o1..oK (hinge, ce). */
  targets: number[] | { class: number };
  /** How the weights are numbered w1, w2, ... within a layer: the paper's (w1 = I1 -> h1, w2 = I1 -> h2) or Mazur's (w2 = i2 -> h1). */
  numbering: 'by-input' | 'by-output';
}

/** Numbers with two decimals, as a person works them by hand. */
const twoDecimals = (rng: Rng, lo: number, hi: number) => Math.round(100 * (lo + (hi - lo) * rng.uniform())) / 100;

/** Values drawn from a seed: inputs and targets in [0, 1], weights and biases in [-1, 1], two decimals each. */
export function drawValues(sizes: number[], loss: ExampleLoss, seed: number): ExampleValues {
  const rng = Rng.seeded(seed);
  const inputs = Array.from({ length: sizes[0] }, () => twoDecimals(rng, 0, 1));
  const weights = sizes.slice(1).map((out, l) => Array.from({ length: sizes[l] }, () => Array.from({ length: out }, () => twoDecimals(rng, -1, 1))));
  const biases: Bias[] = sizes.slice(1).map((out) => ({ kind: 'unit', values: Array.from({ length: out }, () => twoDecimals(rng, -1, 1)) }));
  const outputs = sizes[sizes.length - 1];
  const targets = classifies(loss) ? { class: 1 + rng.int(outputs) } : Array.from({ length: outputs }, () => twoDecimals(rng, 0, 1));
  return { sizes, inputs, weights, biases, targets, numbering: 'by-input' };
}

/**
 * The paper's Figures 3-4 (Figure 2 itself is missing from the text; the values are Figure 3's,
 * with I2 = 0.25, which its h1 and h2 lines need): a 2-2-1 sigmoid network, squared error,
 * learning rate 0.5. b1 feeds h1 only, h2 has no bias, b2 feeds the output.
 */
export const paperExample = {
  values: {
    sizes: [2, 2, 1],
    inputs: [0.05, 0.25],
    weights: [
      [
        [0.25, 0.6],
        [0.75, 0.35],
      ],
      [[0.55], [0.65]],
    ],
    biases: [
      { kind: 'unit', values: [0.45, null] },
      { kind: 'unit', values: [0.65] },
    ],
    targets: [0.01],
    numbering: 'by-input',
  } satisfies ExampleValues as ExampleValues,
  activation: 'sigmoid',
  loss: 'mse',
  lr: 0.5,
} as const;
