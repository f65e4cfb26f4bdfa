/** `backprop report DIR`: one self-contained HTML page with every figure and table, that opens from disk. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { writeFileAtomic } from '@backprop/mlp';
import { loadExperiments, planRuns, readOverrides } from '../experiments/define.ts';
import { runCells, runColumns, summarize, type ExperimentSummary } from '../experiments/results.ts';

export const reportOptions = (y: Argv) =>
  y.positional('dir', { type: 'string', demandOption: true, describe: 'the directory of `backprop experiment` (runs/paper)' });

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function writeReport(dir: string, summaries: ExperimentSummary[]): string {
  const sections = summaries.map((s) => {
    const rows = s.runs.map((d) => {
      const [run, ...rest] = runCells(s, d);
      const quick = d.run.config.subset ? ` [subset ${d.run.config.subset}]` : '';
      return `<tr>${[run + quick, ...rest].map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
    });
    const findings = s.findings.map((f) => `<li class="${f.verdict.replace(/ /g, '-')}">${esc(f.text)}: <b>${f.verdict}</b>${f.detail ? ` <span>(${esc(f.detail)})</span>` : ''}</li>`);
    const figures = s.figures.map((f) => `<figure id="${f.id}">${readFileSync(join(dir, f.file), 'utf8')}</figure>`);
    return `<section id="${s.experiment.name}"><h2>§${esc(s.experiment.section)} ${esc(s.experiment.title)}</h2>
<table><thead><tr>${runColumns.map((c) => `<th>${c}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>
<ul class="findings">${findings.join('')}</ul>${figures.join('\n')}</section>`;
  });
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>backprop: the paper's experiments</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}td:first-child,th:first-child{text-align:left}
.reproduced b{color:#1a7f37}.not-reproduced b{color:#b42318}.not-yet-run b{color:#777}figure{margin:1em 0}</style></head>
<body><h1>Backpropagation by hand: the experiments, reproduced</h1>
<p>Every run: mini-batch SGD, batch 8, weights from N(0,1) x 1e-3, seed 1, on MNIST (60,000 training and 10,000 test images), unless a row says otherwise.
Accuracies are after the last epoch. Generated ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.</p>
${sections.join('\n')}</body></html>
`;
  const path = join(dir, 'report.html');
  writeFileAtomic(path, html);
  return path;
}

export async function reportCommand(args: { dir: string }): Promise<number> {
  if (!existsSync(args.dir)) throw new Error(`${args.dir}: no such directory; run backprop experiment --out ${args.dir} first`);
  const experiments = loadExperiments();
  // The runs of the report are those the directory holds: with or without --epochs/--subset overrides.
  const overrides = readOverrides(args.dir);
  const plans = new Map(experiments.map((e) => [e.name, planRuns(e, overrides)]));
  const summaries = await summarize(args.dir, experiments, plans);
  console.log(writeReport(args.dir, summaries));
  return 0;
}
