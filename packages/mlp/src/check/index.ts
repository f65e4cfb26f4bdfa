/**
 * @backprop/mlp/check: a hand derivation checked line by line (what `backprop check` and the site's
 * check panel run). Browser-safe: nothing on its import graph uses a Node built-in. Markdown files'
 * derivation blocks are `@backprop/mlp/check/markdown`'s (it loads a Markdown parser).
 *
 * @module @backprop/mlp/check
 */
export { checkSource, Derivation, formatValue, unitOf, type CheckReport, type Verdict, type VerdictName } from './evaluate.ts';
export { CheckError, MAX_NESTING, type Statement } from './parse.ts';
export { explain } from './explain.ts';
export { summarize } from './summary.ts';
export { derivationDrawing } from './graph.ts';
