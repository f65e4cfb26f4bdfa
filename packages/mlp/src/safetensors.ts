/**
 * Models on disk in the safetensors format (https://huggingface.co/docs/safetensors): an 8-byte
 * little-endian header length N, N bytes of JSON describing each tensor (dtype, shape, byte
 * offsets) plus a `__metadata__` map of strings, then the raw little-endian data.
 *
 * An MLP is stored as `layers.{i}.weight` [in, out] and `layers.{i}.bias` [out]; its metadata
 * holds `format` ("backprop-mlp/1"), `sizes` and `activation` as JSON, plus whatever the caller
 * adds (training settings, a run's progress). A network of a model file (model.ts) is stored as its
 * parameters and state by their declared names, with `format` "backprop-model/1", `model_file` and
 * `model_sha256`. Extra tensors (optimiser state) use other names (`optimizer.{i}`).
 * Every file we write carries `data_sha256`, the SHA-256 of its data section, and
 * `header_and_data_sha256`, the SHA-256 of its header (as JSON, without this field) and data, in
 * its metadata, so that a damaged file is refused rather than loaded with wrong weights, a wrong
 * tensor name or a wrong generator state. Files of other writers (and of older versions) may lack either.
 */
import { createHash } from 'node:crypto';
import ndarray from 'ndarray';
import { allocate, Tensor, type Data } from '@backprop/graph';
import type { ActivationName } from './activations.ts';
import { activationNames } from './activations.ts';
import { readUserFile, writeFileAtomic } from './files.ts';
import { Dense, MLP, MLP_FORMAT as FORMAT } from './mlp.ts';
import type { Network } from './network.ts';

interface Entry {
  dtype: 'F32' | 'F64';
  shape: number[];
  data_offsets: [number, number];
}

const bytesOf = (d: Data) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

/** Encodes named tensors and string metadata as safetensors bytes, with the data's SHA-256 in the metadata. */
export function encodeSafetensors(tensors: Record<string, { data: Data; shape: number[] }>, metadata: Record<string, string>): Uint8Array {
  const hash = createHash('sha256');
  for (const t of Object.values(tensors)) hash.update(bytesOf(t.data));
  const header: Record<string, Entry | Record<string, string>> = { __metadata__: { ...metadata, data_sha256: hash.digest('hex') } };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.data instanceof Float64Array ? 'F64' : 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const whole = createHash('sha256').update(JSON.stringify(header));
  for (const t of Object.values(tensors)) whole.update(bytesOf(t.data));
  (header.__metadata__ as Record<string, string>).header_and_data_sha256 = whole.digest('hex'); // the last key: removing it gives back what was hashed
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // keep the data 8-byte aligned
  const head = Buffer.from(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of Object.values(tensors)) {
    out.set(bytesOf(t.data), at);
    at += t.data.byteLength;
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNaturals = (v: unknown, length?: number): v is number[] =>
  Array.isArray(v) && (length === undefined || v.length === length) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
/** A header entry of the shape safetensors defines (its dtype is checked on its own, to name it). */
const isEntry = (v: unknown): v is Entry => isObject(v) && typeof v.dtype === 'string' && isNaturals(v.shape) && isNaturals(v.data_offsets, 2);

/** Decodes safetensors bytes, checking every offset; `where` names the file in errors. */
export function decodeSafetensors(
  bytes: Uint8Array,
  where: string,
): { tensors: Map<string, { data: Data; shape: number[] }>; metadata: Record<string, string> } {
  const fail = (what: string): never => {
    throw new Error(`${where}: not a valid model file: ${what}`);
  };
  if (bytes.length < 8) fail(`only ${bytes.length} bytes`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > bytes.length - 8) fail(`header length ${n} runs past the end of the file (${bytes.length} bytes)`);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
  } catch {
    return fail('the header is not JSON');
  }
  if (!isObject(header)) return fail('the header is not a JSON object');
  const metadata = '__metadata__' in header ? header.__metadata__ : {};
  if (!isObject(metadata) || !Object.values(metadata).every((v) => typeof v === 'string')) fail('__metadata__ is not a map of strings');
  const dataStart = 8 + n;
  const tensors = new Map<string, { data: Data; shape: number[] }>();
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!isEntry(e)) return fail(`tensor ${name}: expected {dtype, shape, data_offsets}, found ${JSON.stringify(e).slice(0, 80)}`);
    const width = e.dtype === 'F32' ? 4 : e.dtype === 'F64' ? 8 : fail(`tensor ${name} has dtype ${e.dtype}, not F32 or F64`);
    const [begin, end] = e.data_offsets;
    const size = e.shape.reduce((a: number, b: number) => a * b, 1);
    if (!(begin >= 0 && end === begin + size * width && dataStart + end <= bytes.length)) {
      fail(`tensor ${name} [${e.shape}] needs bytes ${begin}-${end} but the file has ${bytes.length - dataStart} bytes of data (truncated?)`);
    }
    // a copy of its own (aligned, and where the kernels read float32 in place), owned by what holds it
    const data = allocate(width === 4 ? 'float32' : 'float64', size, 'owned');
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { data, shape: e.shape });
  }
  // Files of other writers may lack the checksum; ours always have it. Checked after the offsets,
  // so that a truncated file is called truncated.
  const checksum = (metadata as Record<string, string>).data_sha256;
  if (checksum !== undefined) {
    const actual = createHash('sha256').update(bytes.subarray(dataStart)).digest('hex');
    if (actual !== checksum) fail('checksum mismatch: its data does not match the SHA-256 in its header');
  }
  const { header_and_data_sha256: sha256, ...rest } = metadata as Record<string, string>;
  if (sha256 !== undefined) {
    const actual = createHash('sha256')
      .update(JSON.stringify({ ...header, __metadata__: rest }))
      .update(bytes.subarray(dataStart))
      .digest('hex');
    if (actual !== sha256) fail('checksum mismatch: its header does not match the SHA-256 in it');
  }
  return { tensors, metadata: metadata as Record<string, string> };
}

/**
 * Saves a network (its tensors by name and what it says of itself: an MLP its sizes and activation,
 * a model file's network the file and its SHA-256), metadata and extra tensors, atomically.
 */
export function saveModel(path: string, net: Network, metadata: Record<string, unknown> = {}, extra: Record<string, Data> = {}): void {
  const tensors: Record<string, { data: Data; shape: number[] }> = {};
  for (const [name, t] of net.named()) tensors[name] = { data: t.clone().array.data, shape: t.shape };
  for (const [name, data] of Object.entries(extra)) tensors[name] = { data, shape: [data.length] };
  const meta: Record<string, string> = net.describe();
  for (const [k, v] of Object.entries(metadata)) meta[k] = typeof v === 'string' ? v : JSON.stringify(v);
  writeFileAtomic(path, encodeSafetensors(tensors, meta));
}

/** The tensors and metadata of a safetensors file, checked (offsets, checksum); errors name the file. */
export function readTensorFile(path: string): { tensors: Map<string, { data: Data; shape: number[] }>; metadata: Record<string, string> } {
  return decodeSafetensors(readUserFile(path, { what: 'a model' }), path);
}

/**
 * Copies the tensors of a saved file into `net` by name, after checking that the file holds the same
 * format of network and every one of its tensors with the same shape (that a model file is the one
 * the tensors were trained with is checked by its SHA-256 before it is loaded). Returns the tensors
 * the network does not have (a checkpoint's optimiser state).
 */
export function restoreNetwork(net: Network, saved: ReturnType<typeof readTensorFile>, where: string): Map<string, Data> {
  const { tensors, metadata } = saved;
  const format = net.describe().format;
  if (metadata.format !== format) throw new Error(`${where}: holds a network of format ${metadata.format ?? '(none)'}, not ${format}`);
  const mine = net.named();
  for (const [name, t] of mine) {
    const s = tensors.get(name);
    if (!s) throw new Error(`${where}: holds no tensor ${name}`);
    if (s.shape.join() !== t.shape.join()) throw new Error(`${where}: ${name} is [${s.shape}] in the file but [${t.shape}] in the network`);
    t.update((a) => a.data.set(s.data)); // bumps its version: a tape that saved it refuses to backpropagate
  }
  return new Map([...tensors].filter(([name]) => !mine.has(name)).map(([name, s]) => [name, s.data]));
}

export interface LoadedModel {
  net: MLP;
  metadata: Record<string, string>;
  extra: Map<string, Data>;
}

/** Loads a network saved by `saveModel`; with `expectSizes`, refuses a model of another architecture. */
export function loadModel(path: string, expectSizes?: number[]): LoadedModel {
  const { tensors, metadata } = readTensorFile(path);
  if (metadata.format !== FORMAT) throw new Error(`${path}: not a backprop model (metadata format is ${metadata.format ?? 'missing'}, expected ${FORMAT})`);
  let sizes: unknown;
  try {
    sizes = JSON.parse(metadata.sizes ?? 'null');
  } catch {
    // named below
  }
  if (!isNaturals(sizes) || sizes.length < 2 || sizes.includes(0)) {
    throw new Error(`${path}: metadata "sizes" is ${metadata.sizes ?? 'missing'}, not a JSON list of two or more positive integers`);
  }
  const activation = metadata.activation as ActivationName;
  if (!activationNames.includes(activation))
    throw new Error(`${path}: metadata "activation" is ${activation ?? 'missing'}, not one of ${activationNames.join(', ')}`);
  if (expectSizes && expectSizes.join() !== sizes.join()) {
    throw new Error(`${path}: the model is ${sizes.join('-')} but ${expectSizes.join('-')} was asked for`);
  }
  const layers = sizes.slice(1).map((out, i) => {
    const W = tensors.get(`layers.${i}.weight`),
      b = tensors.get(`layers.${i}.bias`);
    if (!W || !b) throw new Error(`${path}: layer ${i} of ${sizes.join('-')} is missing`);
    if (W.shape.join() !== `${sizes[i]},${out}` || b.shape.join() !== `${out}`) {
      throw new Error(`${path}: layer ${i} has weight [${W.shape}] and bias [${b.shape}], but sizes ${sizes.join('-')} need [${sizes[i]},${out}] and [${out}]`);
    }
    return new Dense(new Tensor(ndarray(W.data, W.shape), { requiresGrad: true }), new Tensor(ndarray(b.data, b.shape), { requiresGrad: true }));
  });
  const extra = new Map<string, Data>();
  for (const [name, t] of tensors) if (!name.startsWith('layers.')) extra.set(name, t.data);
  return { net: new MLP({ sizes, activation }, layers), metadata, extra };
}
