/**
 * `npm run schema`: writes packages/cli/sweep.schema.json from the zod schema of sweep files
 * (packages/cli/src/experiments/schema.ts). test/schema.test.ts fails when the shipped file is
 * not what this writes.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { schemaPath, sweepJsonSchema } from '../packages/cli/src/experiments/schema.ts';

writeFileSync(`${schemaPath}.tmp`, sweepJsonSchema()); // whole or not at all
renameSync(`${schemaPath}.tmp`, schemaPath);
console.log(`wrote ${schemaPath}`);
