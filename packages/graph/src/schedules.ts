/**
 * Learning-rate schedules: a schedule is a function of the step's index alone (0-based), as in
 * optax, so a run resumed at step s takes exactly the rates of an uninterrupted one. Set
 * `opt.lr = schedule(step)` before each step, or let an `LRScheduler` do it as torch's schedulers do.
 */

/** The learning rate of step `step` (0-based). */
export type Schedule = (step: number) => number;

/** lr at every step. */
export function constant(lr: number): Schedule {
  return () => lr;
}

/** lr gamma^floor(step / every): x gamma every `every` steps (torch's StepLR). */
export function stepDecay({ lr, every, gamma = 0.1 }: { lr: number; every: number; gamma?: number }): Schedule {
  if (!(every > 0)) throw new Error(`stepDecay: every is ${every}; it must be > 0 (the steps between two decays)`);
  return (step) => lr * gamma ** Math.floor(step / every);
}

/** lr gamma^step (torch's ExponentialLR). */
export function exponential({ lr, gamma }: { lr: number; gamma: number }): Schedule {
  return (step) => lr * gamma ** step;
}

/** From lr down to `min` (default 0) over `steps` steps on half a cosine, then `min` (optax's cosine_decay_schedule): min + (lr - min) (1 + cos(pi t / T)) / 2. */
export function cosine({ lr, steps, min = 0 }: { lr: number; steps: number; min?: number }): Schedule {
  if (!(steps > 0)) throw new Error(`cosine: steps is ${steps}; it must be > 0 (the steps from lr down to min)`);
  return (step) => min + ((lr - min) * (1 + Math.cos((Math.PI * Math.min(step, steps)) / steps))) / 2;
}

/** A linear ramp from lr / W to lr over the first W = `steps` steps, then `after` counted from the ramp's end (step - W). */
export function warmup({ lr, steps }: { lr: number; steps: number }, after: Schedule = constant(lr)): Schedule {
  return (step) => (step < steps ? (lr * (step + 1)) / steps : after(step - steps));
}

/**
 * Sets an optimiser's rate from a schedule: `schedule(0)` at once, then `schedule(n)` at the n-th
 * `step()` (call it after each `opt.step()`). `steps` is what a checkpoint keeps; pass it back to resume.
 */
export class LRScheduler {
  constructor(
    readonly optimizer: { lr: number },
    readonly schedule: Schedule,
    public steps = 0,
  ) {
    optimizer.lr = schedule(steps);
  }
  step(): void {
    this.optimizer.lr = this.schedule(++this.steps);
  }
}
