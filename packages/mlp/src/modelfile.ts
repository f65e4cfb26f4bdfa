/**
 * Loading a model file. A model file is a program: loading it imports it, which runs its code with
 * the user's rights (its TypeScript compiled by whatever loads it: the CLI's module hooks, vitest,
 * tsx). Nothing else the framework reads (configs, derivations, experiments, checkpoints) runs
 * code. The file's SHA-256 is taken from the bytes before they run, so that a caller can refuse a
 * changed file unrun.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readUserFile } from './files.ts';
import { initNames } from './init.ts';
import { MAX_TENSOR_SIZE } from './mlp.ts';
import type { ModelDefinition, ModelFile } from './model.ts';

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
const show = (v: unknown) => (typeof v === 'function' ? 'a function' : (JSON.stringify(v) ?? String(v)).slice(0, 60));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isShape = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((d) => Number.isSafeInteger(d) && d > 0);
const NAME = /^[A-Za-z_][\w.-]*$/;

/** The SHA-256 of a file's bytes, and its absolute path; errors name the file. */
export function hashModelFile(path: string): { file: string; sha256: string } {
  const file = resolve(path);
  let bytes: Buffer;
  try {
    bytes = readUserFile(file, { limit: 16 * 2 ** 20, what: 'a model file' });
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message.slice(file.length + 2).replace(/^cannot read: /, 'cannot read the model file: ')}`);
  }
  return { file, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The options of a model file that exports a function of them: names to JSON values (numbers, strings, booleans). */
export type ModelOptions = Record<string, unknown>;

/**
 * Imports a model file (running its code) and checks its default export. With `expect`, a file
 * whose SHA-256 differs is refused before it runs, with the message `changed` gives. A file whose
 * default export is a function of options (`export const options = { width: 16 }` names them and
 * their defaults) is called with its defaults overridden by `options`; an unknown option, or one of
 * another type than its default, is refused in one line.
 */
export async function loadModelFile(
  path: string,
  options: { expect?: string; changed?: (sha256: string) => string; options?: ModelOptions } = {},
): Promise<ModelFile> {
  const { file, sha256 } = hashModelFile(path);
  if (options.expect !== undefined && options.expect !== sha256) {
    throw new Error(
      options.changed?.(sha256) ?? `${path}: the model file has changed (its SHA-256 was ${options.expect.slice(0, 12)}..., is now ${sha256.slice(0, 12)}...)`,
    );
  }
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(file).href);
  } catch (e) {
    throw new Error(`${path}: cannot load the model file: ${oneLine((e as Error)?.message ?? String(e))}`);
  }
  // A .ts file outside a package of "type": "module" runs as CommonJS: its exports object comes as the default.
  const exported = isObject(module.default) && 'default' in module.default && !('forward' in module.default) ? module.default : module;
  if (!('default' in exported)) throw new Error(`${path}: exports no model; write export default { input, outputs, parameters, forward }`);
  const made = applyOptions(exported, options.options ?? {}, path);
  return { path, file, sha256, definition: checkDefinition(made.definition, path), ...(made.options && { options: made.options }) };
}

/**
 * The model a file's exports make with the given options: its default export itself, or, when that
 * is a function, the function called with the file's `options` (their defaults) overridden by `given`.
 */
function applyOptions(exported: Record<string, unknown>, given: ModelOptions, path: string): { definition: unknown; options?: ModelOptions } {
  const make = exported.default,
    names = Object.keys(given);
  if (typeof make !== 'function') {
    if (names.length) throw new Error(`${path}: takes no options (its default export is a model, not a function of options); remove the option "${names[0]}"`);
    return { definition: make };
  }
  const defaults = exported.options;
  if (!isObject(defaults))
    throw new Error(`${path}: its default export is a function of options; export their defaults too, e.g. export const options = { width: 16 }`);
  for (const [name, value] of Object.entries(given)) {
    if (!(name in defaults))
      throw new Error(`${path}: no option "${name}"; its options are ${Object.keys(defaults).join(', ') || 'none'} (export const options in the file)`);
    const want = kind(defaults[name]);
    if (kind(value) !== want) throw new Error(`${path}: option "${name}" must be ${want} like its default ${show(defaults[name])}, got ${show(value)}`);
  }
  const all = { ...defaults, ...given };
  try {
    return { definition: make(all), options: all };
  } catch (e) {
    throw new Error(`${path}: the model function failed with the options ${show(all)}: ${oneLine((e as Error)?.message ?? String(e))}`);
  }
}

const kind = (v: unknown) => (Array.isArray(v) ? 'a list' : v === null ? 'null' : `a ${typeof v}`);

const fields = ['description', 'input', 'outputs', 'parameters', 'state', 'forward', 'loss', 'backward'];

/** The export of a model file, checked field by field; the first problem is named in one line. */
export function checkDefinition(value: unknown, where: string): ModelDefinition {
  const fail = (what: string): never => {
    throw new Error(`${where}: ${what}`);
  };
  if (!isObject(value)) return fail(`its default export is ${show(value)}, not a model { input, outputs, parameters, forward }`);
  for (const key of Object.keys(value)) if (!fields.includes(key)) fail(`unknown field "${key}" (a model has ${fields.join(', ')})`);
  if (value.description !== undefined && typeof value.description !== 'string') fail(`description must be a string, got ${show(value.description)}`);
  if (!isShape(value.input)) fail(`input must be the shape of one example, positive integers such as [784] or [1, 28, 28], got ${show(value.input)}`);
  if (!(Number.isSafeInteger(value.outputs) && (value.outputs as number) > 0))
    fail(`outputs must be the number of scores per example, a positive integer, got ${show(value.outputs)}`);
  if (typeof value.forward !== 'function') fail(`forward must be a function (t, p, X, ctx) => scores, got ${show(value.forward)}`);
  if (value.loss !== undefined && typeof value.loss !== 'function')
    fail(`loss must be a function (t, outputs, targets) => the batch's mean loss, got ${show(value.loss)}`);
  if (value.backward !== undefined && typeof value.backward !== 'function')
    fail(`backward must be a function ({ t, p, X, ... }) => { grads }, got ${show(value.backward)}`);
  if (!isObject(value.parameters) || Object.keys(value.parameters).length === 0)
    fail(`parameters must be an object of at least one { shape, init }, got ${show(value.parameters)}`);
  if (value.state !== undefined && !isObject(value.state)) fail(`state must be an object of { shape, init }, got ${show(value.state)}`);
  const seen = new Set<string>();
  for (const [group, specs] of [
    ['parameters', value.parameters],
    ['state', value.state ?? {}],
  ] as const) {
    for (const [name, spec] of Object.entries(specs as Record<string, unknown>)) {
      const at = `${group}["${name}"]`;
      if (!NAME.test(name) || name.startsWith('optimizer.')) fail(`${at}: a name is letters, digits, _ . - (not starting with a digit, nor with optimizer.)`);
      if (seen.has(name)) fail(`${at}: the name is also a parameter's`);
      seen.add(name);
      if (!isObject(spec)) return fail(`${at} must be { shape, init }, got ${show(spec)}`);
      const keys = group === 'state' ? ['shape', 'init'] : ['shape', 'init', 'fanIn', 'fanOut'];
      for (const key of Object.keys(spec)) if (!keys.includes(key)) fail(`${at}: unknown field "${key}" (it has ${keys.join(', ')})`);
      if (!isShape(spec.shape)) fail(`${at}.shape must be a list of positive integers, got ${show(spec.shape)}`);
      const entries = (spec.shape as number[]).reduce((a, b) => a * b, 1);
      if (entries > MAX_TENSOR_SIZE)
        fail(
          `${at}.shape [${spec.shape}] has ${entries.toLocaleString('en-US')} entries, more than one array can hold (${MAX_TENSOR_SIZE.toLocaleString('en-US')}); make it smaller`,
        );
      const init = spec.init,
        constant = init === 'zeros' || init === 'ones' || (typeof init === 'number' && Number.isFinite(init));
      const ok = group === 'state' ? constant : constant || typeof init === 'function' || initNames.includes(init as never);
      if (!ok)
        fail(
          `${at}.init must be ${group === 'state' ? '' : `${initNames.join(', ')}, `}zeros, ones${group === 'state' ? ' or a number' : ', a number or a function (rng) => number'}, got ${show(init)}`,
        );
      for (const fan of ['fanIn', 'fanOut']) {
        if (spec[fan] !== undefined && !(Number.isSafeInteger(spec[fan]) && (spec[fan] as number) > 0))
          fail(`${at}.${fan} must be a positive integer, got ${show(spec[fan])}`);
      }
    }
  }
  return value as unknown as ModelDefinition;
}
