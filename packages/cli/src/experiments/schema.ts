/**
 * The JSON schema of experiment and sweep files (packages/cli/sweep.schema.json, for editors),
 * made from the zod schema that validates them by zod's own toJSONSchema, so that an editor
 * checks a sweep file by the same rules as `backprop experiment FILE.json`.
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { experimentSchema } from './define.ts';

export const schemaPath = fileURLToPath(new URL('../../sweep.schema.json', import.meta.url));

/** The JSON schema, as the shipped file holds it. */
export function sweepJsonSchema(): string {
  const schema = z.toJSONSchema(experimentSchema, { io: 'input' });
  const about = {
    title: 'backprop experiment or sweep file',
    description:
      'backprop experiment FILE.json: runs (a list, a grid, or both) over a base, repeated for every seed; figures and findings. See docs/experiments.md.',
  };
  return JSON.stringify({ ...schema, ...about }, null, 2) + '\n';
}
