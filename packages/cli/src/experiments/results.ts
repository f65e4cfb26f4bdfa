/** What the runs of experiments produced: their figures, tables (mean ± sd over seeds) and findings, and results.json. */
import { join } from 'node:path';
import { writeFileAtomic } from '@backprop/mlp';
import { pct } from '../format.ts';
import { makeDirs } from '../run/rundir.ts';
import type { Experiment } from './define.ts';
import { figureSvg } from './figures.ts';
import { judgeFinding, type FindingResult } from './findings.ts';
import { describeOverrides, isQuickLook, type Overrides, type PlannedRun } from './plan.ts';
import { last, type RunData, type RunGroup, type RunSources } from './runs.ts';
import { mean, sd } from './stats.ts';

export interface ExperimentSummary {
  experiment: Experiment;
  groups: RunGroup[];
  findings: FindingResult[];
  figures: { id: string; title: string; file: string }[];
  /** What the runs were made with instead of the experiment's settings (--epochs, --subset, --seeds). */
  overrides: Overrides;
}

/** "quick look: epochs 2, subset 3000": what every table, figure and finding of a quick look says. */
export const quickLookNote = (o: Overrides) => `quick look: ${describeOverrides(o)}`;

/**
 * Writes every figure of the experiments (that has data) into `outDir`, and results.json; returns the
 * summaries. Runs made with `overrides` say so in every figure and table; on a quick look (other
 * epochs or data than the experiment's) the findings are not judged.
 */
export async function summarize(
  sources: RunSources,
  outDir: string,
  experiments: Experiment[],
  plans: Map<string, PlannedRun[]>,
  overrides: Overrides = {},
): Promise<ExperimentSummary[]> {
  const quick = isQuickLook(overrides);
  // Every run is read (and checked) before anything is written.
  const read = experiments.map((e) => ({ e, groups: sources.groups(plans.get(e.name)!) }));
  makeDirs(join(outDir, 'figures'));
  const summaries: ExperimentSummary[] = [];
  for (const { e, groups } of read) {
    const byId = new Map(groups.map((g) => [g.id, g]));
    const figures: ExperimentSummary['figures'] = [];
    for (const fig of e.figures) {
      const data = fig.runs
        .map((id) => byId.get(id)!)
        .map((g) => ({ ...g, runs: g.runs.filter((d) => d.epochs.length > 0 || d.losses.length > 0) }))
        .filter((g) => g.runs.length > 0);
      if (data.length === 0) continue;
      const file = join('figures', `${fig.id}.svg`);
      const title = quick ? `${fig.title} (${quickLookNote(overrides)})` : fig.title;
      writeFileAtomic(join(outDir, file), await figureSvg({ ...fig, title }, data));
      figures.push({ id: fig.id, title, file });
    }
    const findings = e.findings.map((f) =>
      quick ? { text: f.text, verdict: 'not judged', detail: quickLookNote(overrides) } : judgeFinding(f, byId, e.paper),
    );
    summaries.push({ experiment: e, groups, findings, figures, overrides });
  }
  const json = summaries.map((s) => ({
    experiment: s.experiment.name,
    section: s.experiment.section,
    title: s.experiment.title,
    overrides: s.overrides,
    runs: s.groups.map((g) => ({
      id: g.id,
      label: g.label,
      paper: (!isQuickLook(s.overrides) && s.experiment.paper?.[g.id]) || null,
      ...spread(g),
      seeds: g.runs.map((d) => ({
        seed: d.run.seed,
        dir: d.run.key,
        status: d.status,
        epochs: d.epochs.length,
        final: last(d) ?? null,
        seconds: d.epochs.reduce((a, e) => a + e.seconds, 0),
      })),
    })),
    findings: s.findings,
    figures: s.figures,
  }));
  writeFileAtomic(join(outDir, 'results.json'), JSON.stringify(json, null, 2) + '\n');
  return summaries;
}

/** Mean and standard deviation of the final accuracies over the seeds that finished (diverged and unfinished ones left out). */
function spread(g: RunGroup) {
  const done = g.runs.filter((d) => d.status === 'done' && last(d));
  const of = (split: 'train' | 'test') => done.map((d) => last(d)![split]);
  return done.length
    ? { mean: { train: mean(of('train')), test: mean(of('test')) }, sd: { train: sd(of('train')), test: sd(of('test')) } }
    : { mean: null, sd: null };
}

/** The run's training and evaluation time, summed over its epochs (and its seeds). */
const minutes = (runs: RunData[]) => {
  const seconds = runs.flatMap((d) => d.epochs).reduce((a, e) => a + e.seconds, 0);
  return runs.some((d) => d.epochs.length) ? (seconds / 60).toFixed(1) : '-';
};

/** How far a run got, after its label: "(3/10 epochs)", "(diverged)", "(stopped early at epoch 4)", or over seeds "(1 of 3 diverged, 2 of 3 done)". */
function progress(runs: RunData[]): string {
  const early = (d: RunData) => d.status === 'done' && d.epochs.length < d.run.config.epochs; // early stopping
  if (runs.length === 1) {
    const d = runs[0];
    if (early(d)) return ` (stopped early at epoch ${d.epochs.length})`;
    return d.status === 'done' ? '' : d.status === 'partial' ? ` (${d.epochs.length}/${d.run.config.epochs} epochs)` : ` (${d.status})`;
  }
  const count = (s: RunData['status']) => runs.filter((d) => d.status === s).length;
  const stopped = runs.filter(early).length;
  const parts = [
    count('diverged') && `${count('diverged')} of ${runs.length} diverged`,
    count('done') < runs.length && `${count('done')} of ${runs.length} done`,
    stopped && `${stopped} of ${runs.length} stopped early`,
  ];
  return parts.some(Boolean) ? ` (${parts.filter(Boolean).join(', ')})` : '';
}

export const runColumns = ['run', 'train accuracy', 'test accuracy', 'paper (train / test)', 'minutes'];

/** The seeds of an experiment's runs (1 for the paper's at one seed). */
export const seedCount = (s: ExperimentSummary) => Math.max(...s.groups.map((g) => g.runs.length));

/** The paper's experiments, and a sweep that gives the paper's numbers, have a column for them; a quick look is not set beside them. */
const hasPaper = (s: ExperimentSummary) => (!s.experiment.source || !!s.experiment.paper) && !isQuickLook(s.overrides);

/**
 * What the runs of a table were made with, when not the experiment's own settings: "A quick look
 * (epochs 2, subset 3000): not the paper's settings; ...", or "Overrides: seeds 1-3." ('' for none).
 */
export function overridesNote(s: ExperimentSummary): string {
  const o = describeOverrides(s.overrides);
  if (!o) return '';
  if (!isQuickLook(s.overrides)) return `Overrides: ${o}.`;
  const own = s.experiment.source ? "the sweep's own settings" : "the paper's settings";
  return `A quick look (${o}): not ${own}, so not set beside the paper's numbers, and its findings are not judged.`;
}

export function columns(s: ExperimentSummary): string[] {
  const n = seedCount(s);
  const cols =
    n === 1 ? runColumns : ['run', `train accuracy (mean ± sd, ${n} seeds)`, 'test accuracy (mean ± sd)', 'paper (train / test)', 'minutes (all seeds)'];
  return hasPaper(s) ? cols : cols.filter((c) => !c.startsWith('paper'));
}

/**
 * The rows of a run: its final accuracies (at one seed; mean ± sd in points over several, of the
 * seeds that finished), the paper's, its minutes; with `eachSeed`, a row per seed after it.
 */
export function runRows(s: ExperimentSummary, g: RunGroup, eachSeed = false): string[][] {
  const rows = allRunRows(s, g, eachSeed);
  return hasPaper(s) ? rows : rows.map((r) => r.filter((_, i) => i !== 3));
}

function allRunRows(s: ExperimentSummary, g: RunGroup, eachSeed: boolean): string[][] {
  const paper = s.experiment.paper?.[g.id];
  const paperCell = paper ? `${pct(paper.train)} / ${pct(paper.test)}` : '-';
  // A quick look's row says so itself, after its label (which may name the experiment's epochs): "[epochs 2, subset 3000]".
  const { epochs, subset } = s.overrides;
  const label = isQuickLook(s.overrides) ? `${g.label} [${describeOverrides({ epochs, subset })}]` : g.label;
  const one = (d: RunData, label: string) => [label + progress([d]), pct(last(d)?.train), pct(last(d)?.test), paperCell, minutes([d])];
  if (g.runs.length === 1) return [one(g.runs[0], label)];
  const done = g.runs.filter((d) => d.status === 'done' && last(d));
  const cell = (split: 'train' | 'test') =>
    done.length ? `${pct(mean(done.map((d) => last(d)![split])))} ± ${(100 * sd(done.map((d) => last(d)![split]))).toFixed(2)}` : '-';
  const rows = [[label + progress(g.runs), cell('train'), cell('test'), paperCell, minutes(g.runs)]];
  if (eachSeed) for (const d of g.runs) rows.push(one(d, `  seed ${d.run.seed}`));
  return rows;
}

/** The table of an experiment as Markdown: final accuracies beside the paper's where it gives them, then its findings. */
export function experimentTable(s: ExperimentSummary, eachSeed = false): string {
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const cols = columns(s);
  const findings = s.findings.map((f) => `- ${f.text}: **${f.verdict}**${f.detail ? ` (${f.detail})` : ''}`);
  const heading = `${s.experiment.section ? `§${s.experiment.section} ` : ''}${s.experiment.title} (\`${s.experiment.name}\`)`;
  const note = overridesNote(s);
  return [
    `### ${heading}`,
    '',
    ...(note ? [note, ''] : []),
    row(cols),
    `|${cols.map(() => '---').join('|')}|`,
    ...s.groups.flatMap((g) => runRows(s, g, eachSeed)).map(row),
    ...(findings.length ? ['', ...findings] : []),
  ].join('\n');
}
