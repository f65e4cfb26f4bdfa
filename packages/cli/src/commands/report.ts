/**
 * `backprop report DIR...`: the tables, figures and one self-contained HTML page (that opens from
 * disk) of a directory of runs, or of several merged: shards run on other machines, copied back
 * or on a shared file system. Directories that hold different experiments or settings, and run
 * directories whose settings are not what their names claim, are refused rather than mixed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { writeFileAtomic } from '@backprop/mlp';
import { loadExperiments, parseExperiment, type Experiment } from '../experiments/define.ts';
import { describeOverrides, isQuickLook, planRuns, readOverrides, type Overrides } from '../experiments/plan.ts';
import { columns, experimentTable, overridesNote, quickLookNote, runRows, seedCount, summarize, type ExperimentSummary } from '../experiments/results.ts';
import { RunSources } from '../experiments/runs.ts';
import type { MlpRunConfig } from '../run/config.ts';

export const reportOptions = (y: Argv) =>
  y
    .positional('dirs', {
      type: 'string',
      array: true,
      demandOption: true,
      describe: 'directories of runs of `backprop experiment` (runs/paper); several are merged',
    })
    .option('out', { type: 'string', describe: 'where the figures, results.json and report.html go', defaultDescription: 'the directory, when there is one' })
    .option('each-seed', { type: 'boolean', describe: 'with several seeds, a table row for each seed under its mean' });

type Args = Awaited<ReturnType<ReturnType<typeof reportOptions>['parseAsync']>>;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The final network's graph (§3.5's architecture, with its trained weights when its run has
 * finished) on a batch of the first 8 test images: the forward pass, the loss, the backward pass.
 */
export async function finalNetworkFigure(summaries: ExperimentSummary[]): Promise<string> {
  const final = summaries.find((s) => s.experiment.name === 'final');
  const run = final?.groups[0]?.runs[0];
  if (!final || !run || run.run.config.model !== undefined) return '';
  const { Rng, Tape } = await import('@backprop/graph');
  const { defaultMnistDir, loadModel, loadSplit, batchLoss, MLP } = await import('@backprop/mlp');
  const { networkSvg } = await import('../network-graph.ts');
  const config = run.run.config as MlpRunConfig;
  const model = run.dir && join(run.dir, 'model.safetensors');
  let net, weights;
  try {
    net = model && existsSync(model) ? loadModel(model, config.layers).net : null;
    weights = net ? `its trained weights (${join(run.run.key, 'model.safetensors')})` : 'freshly initialised weights (its run has not finished)';
  } catch (e) {
    weights = `freshly initialised weights (${(e as Error).message})`;
  }
  net ??= MLP.init({ sizes: config.layers, activation: config.activation }, Rng.seeded(config.seed), { init: config.init });
  const { X, y } = loadSplit(config.data ?? defaultMnistDir(), 't10k').batch([0, 1, 2, 3, 4, 5, 6, 7]);
  const tape = new Tape();
  const loss = batchLoss(tape, config.loss, net.forward(tape, X), { y });
  const quick = isQuickLook(final.overrides) ? ` (${quickLookNote(final.overrides)})` : '';
  const title = `${config.layers.join('-')}, ${config.activation}, ${config.loss} loss, on the first 8 test images${quick}`;
  const svg = await networkSvg(tape, X, net.parameters(), loss, title);
  return `<figure id="network-graph"><figcaption>The network's graph, drawn from the tape of one forward pass with ${esc(weights)}${esc(quick)}: ops and tensors with their shapes, the data flowing down in black, the backward pass from the loss in red.</figcaption>${svg.slice(svg.indexOf('<svg'))}</figure>`;
}

/** The page; `extra` holds more HTML for the end of an experiment's section, by its name (the final network's graph). */
export function writeReport(dir: string, summaries: ExperimentSummary[], sweep?: Experiment, eachSeed = false, extra: Record<string, string> = {}): string {
  const sections = summaries.map((s) => {
    // A quick look's rows, figures and findings say so themselves (runRows, summarize).
    const rows = s.groups.flatMap((g) => runRows(s, g, eachSeed).map((cells) => `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`));
    const findings = s.findings.map(
      (f) => `<li class="${f.verdict.replace(/ /g, '-')}">${esc(f.text)}: <b>${f.verdict}</b>${f.detail ? ` <span>(${esc(f.detail)})</span>` : ''}</li>`,
    );
    const figures = s.figures.map((f) => `<figure id="${f.id}">${readFileSync(join(dir, f.file), 'utf8')}</figure>`);
    const note = overridesNote(s);
    return `<section id="${s.experiment.name}"><h2>${s.experiment.section ? `§${esc(s.experiment.section)} ` : ''}${esc(s.experiment.title)}</h2>${note ? `\n<p class="overrides">${esc(note)}</p>` : ''}
<table><thead><tr>${columns(s)
      .map((c) => `<th>${esc(c)}</th>`)
      .join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>
<ul class="findings">${findings.join('')}</ul>${figures.join('\n')}${extra[s.experiment.name] ?? ''}</section>`;
  });
  const seeds = Math.max(...summaries.map(seedCount));
  const over =
    seeds > 1
      ? `Over ${seeds} seeds: the mean ± one standard deviation (in points) of the seeds that finished; a finding is reproduced when the means show it and a one-sided paired t-test over the seeds supports it (p &lt; 0.05).`
      : '';
  // A quick look is never presented as the experiments' result, from the page's title down.
  const quick = summaries.find((s) => isQuickLook(s.overrides))?.overrides;
  const title = `${sweep ? `${esc(sweep.title)}: a sweep` : 'Backpropagation by hand: the experiments'}${quick ? `, a quick look (${esc(describeOverrides(quick))})` : sweep ? '' : ', reproduced'}`;
  const intro = sweep
    ? `Every run: the settings of its row over the sweep's base${sweep.base && Object.keys(sweep.base).length ? ` (${esc(JSON.stringify(sweep.base))})` : ''}, the paper's for the rest; on MNIST unless it says otherwise.`
    : `Every run: mini-batch SGD, batch 8, weights from N(0,1) x 1e-3, ${seeds > 1 ? `seeds 1 to ${seeds}` : 'seed 1'}, on MNIST (60,000 training and 10,000 test images), unless a row says otherwise.`;
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>backprop: ${title}</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}td:first-child,th:first-child{text-align:left;white-space:pre}
.reproduced b{color:#1a7f37}.not-reproduced b{color:#b42318}.not-yet-run b,.not-judged b{color:#777}.overrides{color:#9a6700}li[class^="not-decided"] b{color:#9a6700}figure{margin:1em 0}</style></head>
<body><h1>${title}</h1>
<p>${intro} Accuracies are after the last epoch. ${over} Generated ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.</p>
${sections.join('\n')}</body></html>
`;
  const path = join(dir, 'report.html');
  writeFileAtomic(path, html);
  return path;
}

/** The model file a sweep directory's runs train, as its model.json records it (the report runs no code: the file is not read). */
function readModelRecord(dir: string): NonNullable<Experiment['model']> {
  const path = join(dir, 'model.json');
  const fix = 'run the sweep there again (backprop experiment FILE.json --out DIR) to write it';
  let value: { file?: unknown; sha256?: unknown; ownLoss?: unknown };
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(
      `${path}: ${existsSync(path) ? `damaged, not valid JSON (${(e as Error).message})` : 'missing (it names the model file of the sweep)'}; ${fix}`,
    );
  }
  if (typeof value?.file !== 'string' || typeof value.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(value.sha256) || typeof value.ownLoss !== 'boolean')
    throw new Error(`${path}: damaged, expected { file, sha256, ownLoss }; ${fix}`);
  return { file: value.file, sha256: value.sha256, ownLoss: value.ownLoss };
}

/** What the directories hold (the paper's experiments or a sweep, and the overrides they were run with); all must agree. */
function readDefinition(dirs: string[]): { experiments: Experiment[]; sweep?: Experiment; overrides: Overrides } {
  const held = dirs.map((dir) => {
    const path = join(dir, 'sweep.json');
    let sweep: Experiment | undefined;
    if (existsSync(path)) {
      let value: unknown;
      try {
        value = JSON.parse(readFileSync(path, 'utf8'));
      } catch (e) {
        throw new Error(`${path}: damaged, not valid JSON (${(e as Error).message}); copy the sweep file there again`);
      }
      sweep = parseExperiment(value, path);
      if (sweep.modelFile !== undefined) sweep.model = readModelRecord(dir);
    }
    return { dir, sweep, overrides: readOverrides(dir) };
  });
  const [first] = held;
  const what = (h: (typeof held)[number]) => (h.sweep ? `the sweep '${h.sweep.name}'` : "the paper's experiments");
  for (const h of held.slice(1)) {
    if (JSON.stringify(h.sweep?.source) !== JSON.stringify(first.sweep?.source)) {
      const differs = h.sweep && first.sweep && h.sweep.name === first.sweep.name ? ' (its sweep.json differs)' : '';
      throw new Error(`${h.dir}: holds ${what(h)}${differs}, ${first.dir} ${what(first)}: not runs of one experiment; report them separately`);
    }
    const o = (x: Overrides) => describeOverrides(x) || 'none';
    if (o(h.overrides) !== o(first.overrides)) {
      throw new Error(
        `${h.dir}: was run with overrides ${o(h.overrides)}, ${first.dir} with ${o(first.overrides)} (overrides.json): not runs of the same settings; report them separately`,
      );
    }
  }
  return { experiments: first.sweep ? [first.sweep] : loadExperiments(), sweep: first.sweep, overrides: first.overrides };
}

export async function reportCommand(args: Args): Promise<number> {
  const dirs = args.dirs.map(String);
  for (const dir of dirs) if (!existsSync(dir)) throw new Error(`${dir}: no such directory; run backprop experiment --out ${dir} first`);
  if (dirs.length > 1 && !args.out) throw new Error(`${dirs.length} directories to merge: name the directory for the merged report with --out DIR`);
  const out = args.out ?? dirs[0];
  // The runs of the report are those the directories hold: with or without --epochs/--subset/--seeds overrides.
  const { experiments, sweep, overrides } = readDefinition(dirs);
  const plans = new Map(experiments.map((e) => [e.name, planRuns(e, overrides)]));
  const summaries = await summarize(new RunSources(dirs), out, experiments, plans, overrides);
  for (const s of summaries) console.log(experimentTable(s, args['each-seed']) + '\n');
  console.log(`report in ${writeReport(out, summaries, sweep, args['each-seed'], { final: await finalNetworkFigure(summaries) })}`);
  return 0;
}
