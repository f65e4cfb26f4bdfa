/**
 * A worked example's numbers read from a JSON file (`backprop example --values`), so that a
 * published example can be regenerated; the rest of the generator is @backprop/mlp/example's.
 */
import { readUserFile } from '@backprop/mlp/files';
import { classifies, type Bias, type ExampleLoss, type ExampleValues } from '@backprop/mlp/example';
import { z } from 'zod';
import { describeIssue } from '../run/config.ts';

const numbers = z.array(z.number().finite());
const fileSchema = z
  .object({
    layers: z.array(z.number().int().positive()).min(2, 'needs at least an input and an output size').optional(),
    inputs: numbers.min(1, 'needs at least one input'),
    weights: z.union([numbers, z.array(z.array(numbers))], {
      error: "expected a list of numbers (w1, w2, ... in the numbering's order) or one [inputs][outputs] matrix per layer",
    }),
    biases: z.array(z.union([z.number().finite(), z.null(), z.array(z.number().finite().nullable())])).optional(),
    targets: numbers.optional(),
    class: z.number().int().positive().optional(),
    numbering: z.enum(['by-input', 'by-output']).optional(),
  })
  .strict();

/** Reads and checks a --values file against the network it must fill. */
export function readValues(path: string, loss: ExampleLoss, layers?: number[]): ExampleValues {
  let value: unknown;
  try {
    value = JSON.parse(readUserFile(path, { limit: 16 * 2 ** 20, what: 'a values file' }).toString('utf8'));
  } catch (e) {
    throw new Error(`--values ${e instanceof SyntaxError ? `${path}: not valid JSON (${e.message})` : (e as Error).message}`);
  }
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const known = 'the fields are layers, inputs, weights, biases, targets, class and numbering';
    throw new Error(`--values ${path}: ${issue.path.length ? describeIssue(parsed.error) : `${issue.message} (${known})`}`);
  }
  const f = parsed.data;
  const bad = (field: string, what: string): never => {
    throw new Error(`--values ${path}: field "${field}": ${what}`);
  };
  const numbering = f.numbering ?? 'by-input';
  // The sizes: given, or read off the weight matrices.
  const matrices = f.weights.length > 0 && Array.isArray(f.weights[0]) ? (f.weights as number[][][]) : null;
  let sizes = f.layers ?? layers;
  if (f.layers && layers && f.layers.join() !== layers.join()) bad('layers', `${f.layers.join(',')} differs from --layers ${layers.join(',')}`);
  if (!sizes) {
    if (!matrices) bad('weights', 'a flat list of weights needs the layer sizes: give "layers" (or --layers)');
    sizes = [f.inputs.length, ...matrices!.map((m) => m[0]?.length ?? 0)];
  }
  if (f.inputs.length !== sizes[0]) bad('inputs', `${f.inputs.length} inputs for a first layer of ${sizes[0]}`);
  let weights: number[][][];
  if (matrices) {
    if (matrices.length !== sizes.length - 1) bad('weights', `${matrices.length} matrices for ${sizes.length - 1} layers of weights`);
    matrices.forEach((m, l) => {
      const [rows, cols] = [sizes![l], sizes![l + 1]];
      if (m.length !== rows || m.some((r) => r.length !== cols))
        bad(`weights.${l}`, `expected a ${rows}x${cols} matrix (one row per input of the layer, one column per unit)`);
    });
    weights = matrices;
  } else {
    const flat = f.weights as number[];
    const count = sizes.slice(1).reduce((n, out, l) => n + sizes![l] * out, 0);
    if (flat.length !== count) bad('weights', `${flat.length} weights for a ${sizes.join('-')} network, which has ${count}`);
    let next = 0;
    weights = sizes.slice(1).map((out, l) => {
      const inn = sizes![l];
      const m = Array.from({ length: inn }, () => new Array<number>(out).fill(0));
      for (let k = 0; k < inn * out; k++) {
        const [i, j] = numbering === 'by-input' ? [Math.floor(k / out), k % out] : [k % inn, Math.floor(k / inn)];
        m[i][j] = flat[next++];
      }
      return m;
    });
  }
  const biases: Bias[] = sizes.slice(1).map((out, l) => {
    const b = f.biases?.[l];
    if (b === undefined || b === null) return { kind: 'none' };
    if (typeof b === 'number') return { kind: 'shared', value: b };
    if (b.length !== out) bad(`biases.${l}`, `${b.length} biases for a layer of ${out} units (a number is one bias shared by the layer)`);
    return { kind: 'unit', values: b };
  });
  if (f.biases && f.biases.length !== sizes.length - 1)
    bad('biases', `${f.biases.length} entries for ${sizes.length - 1} layers (one per layer: a number, a list or null)`);
  const outputs = sizes[sizes.length - 1];
  let targets: ExampleValues['targets'];
  if (classifies(loss)) {
    if (f.class === undefined) bad('class', `the ${loss} loss needs the target class, 1 to ${outputs}`);
    if (f.class! > outputs) bad('class', `class ${f.class} of ${outputs} outputs (the classes are 1 to ${outputs}, as o1..o${outputs})`);
    targets = { class: f.class! };
  } else {
    if (!f.targets) bad('targets', `the ${loss} loss needs a target for each of the ${outputs} outputs`);
    if (f.targets!.length !== outputs) bad('targets', `${f.targets!.length} targets for ${outputs} outputs`);
    targets = f.targets!;
  }
  return { sizes, inputs: f.inputs, weights, biases, targets, numbering };
}
