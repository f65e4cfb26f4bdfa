/**
 * A model file runs on the very @backprop/graph and @backprop/mlp the CLI runs (one memory, one
 * Tensor class), wherever the file is: here in a temporary directory outside the repository, with
 * no node_modules of its own (or with another copy of the package in one), importing helpers of its own.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backprop } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-model-packages-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const files = {
  // The forward refuses tensors of another Tensor class; the bias's gradient is a tensor made by
  // this file's own import of tensor(), which gradcheck accepts only if it is the CLI's class.
  'model.ts': `import type { ModelDefinition } from '@backprop/mlp';
import { columnSums, mustBeTensors } from './helper.ts';

export default {
  input: [784],
  outputs: 10,
  parameters: { W: { shape: [784, 10], init: 'xavier' }, b: { shape: [10], init: 'zeros' } },
  forward(t, p, X, ctx) {
    mustBeTensors(X, p.W, p.b);
    return ctx.name('S', t.add(t.matmul(X, p.W), p.b));
  },
  backward: ({ t, X, dS }) => ({ grads: { W: t.matmul(X.T, dS), b: columnSums(dS) }, valueGrads: { S: dS } }),
} satisfies ModelDefinition;
`,
  'helper.ts': `import { tensor, type Tensor } from '@backprop/graph';
export { mustBeTensors } from './checks.js'; // TypeScript's convention: checks.ts

/** dl/db by hand: the column sums of dS, in a new tensor. */
export function columnSums(dS: Tensor): Tensor {
  const rows = dS.toArray() as number[][];
  return tensor(rows[0].map((_, j) => rows.reduce((sum, row) => sum + row[j], 0)), { dtype: dS.dtype });
}
`,
  'checks.ts': `import { Tensor } from '@backprop/graph';

export function mustBeTensors(...values: unknown[]): void {
  for (const v of values) if (!(v instanceof Tensor)) throw new Error('the model file sees tensors of another Tensor class');
}
`,
};

/** The model file and its helpers in `at`. */
function writeModel(at: string): string {
  mkdirSync(at, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(at, name), text);
  return join(at, 'model.ts');
}

describe("a model file imports the CLI's own packages", () => {
  it('from a directory outside the repository with no node_modules: its tensors are accepted by gradcheck and train', () => {
    expect(existsSync(join(tmpdir(), 'node_modules'))).toBe(false); // nothing above it to resolve from
    const model = writeModel(join(dir, 'plain'));
    const g = backprop(['gradcheck', '--model', model, '--random', '--batch', '5']);
    expect(g.stderr).toBe('');
    expect(g.stdout).toMatch(/all 2 parameters agree: hand-derived = tape = finite differences; and dl\/dv of the 1 named value: hand-derived = tape\n$/);
    expect(g.code).toBe(0);
    const t = backprop(['train', '--model', model, '--subset', '500', '--epochs', '1', '--quiet', '--out', join(dir, 'run')]);
    expect(t.stderr).toBe('');
    expect(t.code).toBe(0);
  });

  it('even where a node_modules beside it holds another @backprop/graph', () => {
    const at = join(dir, 'decoy');
    const decoy = join(at, 'node_modules', '@backprop', 'graph');
    mkdirSync(decoy, { recursive: true });
    writeFileSync(join(decoy, 'package.json'), JSON.stringify({ name: '@backprop/graph', type: 'module', exports: './index.js' }));
    writeFileSync(join(decoy, 'index.js'), "throw new Error('the copy of @backprop/graph beside the model file was loaded');\n");
    const g = backprop(['gradcheck', '--model', writeModel(at), '--random', '--batch', '5']);
    expect(g.stderr).toBe('');
    expect(g.code).toBe(0);
  });
});
