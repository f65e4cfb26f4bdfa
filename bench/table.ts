/**
 * `npx tsx bench/table.ts RUN1.json RUN2.json ...`: the README's table of several `npm run bench --
 * --json FILE` runs, one column a run and the median of each row (each row's median on its own).
 */
import { readFileSync } from 'node:fs';
import { median } from './timing.ts';

const files = process.argv.slice(2);
if (files.length === 0) throw new Error('usage: npx tsx bench/table.ts RUN.json... (written by npm run bench -- --json RUN.json)');
const runs: Record<string, number>[] = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));
const keys = [...new Set(runs.flatMap((r) => Object.keys(r)))];
const digits = (key: string) => (/tape \/ hand|this tree/.test(key) ? 3 : 2);
console.log(`| | ${runs.map((_, i) => `run ${i + 1}`).join(' | ')} | median |`);
console.log(`|---|${runs.map(() => '---|').join('')}---|`);
for (const key of keys) {
  const values = runs.map((r) => r[key]);
  const present = values.filter((v): v is number => v !== undefined);
  const cell = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(digits(key)));
  const ratio = key.includes(' / ');
  const b = (s: string) => (ratio ? `**${s}**` : s);
  const label = ratio || key.includes('GFLOP') || key.includes('(') ? key : `${key} (s/epoch)`;
  console.log(`| ${b(label)} | ${values.map((v) => b(cell(v))).join(' | ')} | ${b(cell(median(present)))} |`);
}
