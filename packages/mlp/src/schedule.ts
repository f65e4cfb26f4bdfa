import { constant, cosine, stepDecay, warmup, type Schedule } from '@backprop/graph';

/**
 * Learning-rate schedules (@backprop/graph's, by name): the rate of every step is a function of the step's index alone, so that
 * a run resumed from a checkpoint (which keeps the iteration count) takes exactly the steps of an
 * uninterrupted one.
 */

export type ScheduleName = 'constant' | 'step' | 'cosine';
export const scheduleNames: ScheduleName[] = ['constant', 'step', 'cosine'];

export interface ScheduleConfig {
  /** The base rate. */
  lr: number;
  epochs: number;
  /** constant (the paper's, by default), step (x stepGamma every stepEvery epochs), cosine (from lr down to 0 at the end). */
  schedule?: ScheduleName;
  /** Epochs between two steps of the step schedule. */
  stepEvery?: number;
  /** The step schedule's factor (default 0.1). */
  stepGamma?: number;
  /** Epochs (fractions allowed) of linear warm-up, from lr / W to lr over the first W steps; 0 by default. */
  warmup?: number;
}

/**
 * The learning rate of step `step` (0-based, counted over the whole run) of a run with
 * `stepsPerEpoch` steps an epoch. Warm-up takes precedence; cosine annealing then spans the steps
 * after it: lr (1 + cos(pi (step - W) / (T - W))) / 2, with T the run's steps.
 */
export function learningRate(config: ScheduleConfig, step: number, stepsPerEpoch: number): number {
  const { lr } = config;
  const warm = Math.round((config.warmup ?? 0) * stepsPerEpoch);
  const after: Record<ScheduleName, () => Schedule> = {
    constant: () => constant(lr),
    // counted in whole epochs, from the run's start (the warm-up's steps included)
    step: () => (s) => stepDecay({ lr, every: config.stepEvery ?? 1, gamma: config.stepGamma ?? 0.1 })(Math.floor((s + warm) / stepsPerEpoch)),
    cosine: () => cosine({ lr, steps: config.epochs * stepsPerEpoch - warm }),
  };
  return warmup({ lr, steps: warm }, after[config.schedule ?? 'constant']())(step);
}
