/**
 * What training, evaluation and checkpoints need of a network. The paper's MLP is one; a network
 * defined in a model file (model.ts) is another; `train`, `evaluate` and `saveModel` see only this.
 */
import type { DType, Rng, Tape, Tensor } from '@backprop/graph';

/** How a forward pass runs: in training (dropout on, batch statistics) or in evaluation. */
export interface ForwardMode {
  training: boolean;
  /** Draws dropout masks in training: the run's generator, so that a seed fixes them too. */
  rng?: Rng | null;
  /**
   * In training, whether to fold the batch statistics into the running ones (default true);
   * false for a forward evaluated many times on the same batch (gradcheck).
   */
  updateState?: boolean;
  /** Collects the intermediate values the forward names, by name, in the order it names them. */
  values?: Map<string, Tensor>;
}

export interface Network {
  readonly dtype: DType;
  /** Values per example of the input X [n, inputSize]: the pixels of an image. */
  readonly inputSize: number;
  /** Scores per example: one per class. */
  readonly outputSize: number;
  /** The trainable tensors, in a fixed order (the optimiser's state follows it). */
  parameters(): Tensor[];
  /** Everything a checkpoint keeps, by name: the parameters, then state such as running statistics. */
  named(): Map<string, Tensor>;
  /** What a saved file says about the network besides its tensors (its format and architecture). */
  describe(): Record<string, string>;
  /** Scores S [n, outputSize] for a batch X [n, inputSize]; evaluation when no mode is given. */
  forward(t: Tape, X: Tensor, mode?: ForwardMode): Tensor;
}
