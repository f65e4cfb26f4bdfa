/** What a set of runs produced: per-run results, the paper's figures as SVG, tables and findings. */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '@backprop/mlp';
import type { Experiment, Finding, PlannedRun } from './define.ts';
import { pct } from '../format.ts';

export interface RunData {
  run: PlannedRun;
  status: 'done' | 'diverged' | 'partial' | 'pending';
  /** Per epoch: train and test accuracy. */
  epochs: { epoch: number; train: number; test: number; trainLoss: number; testLoss: number; seconds: number }[];
  /** The loss of every iteration logged. */
  losses: number[];
}

export function readRun(outDir: string, run: PlannedRun): RunData {
  const dir = join(outDir, run.key);
  const data: RunData = { run, status: 'pending', epochs: [], losses: [] };
  const metrics = join(dir, 'metrics.jsonl');
  if (!existsSync(metrics)) return data;
  for (const line of readFileSync(metrics, 'utf8').split('\n').filter(Boolean)) {
    const m = JSON.parse(line);
    if (m.type === 'iterations') data.losses.push(...m.losses);
    else data.epochs.push({ epoch: m.epoch, train: m.trainAccuracy, test: m.testAccuracy, trainLoss: m.trainLoss, testLoss: m.testLoss, seconds: m.seconds });
  }
  const summary = join(dir, 'summary.json');
  data.status = existsSync(summary) ? JSON.parse(readFileSync(summary, 'utf8')).status : 'partial';
  return data;
}

const last = (d: RunData) => d.epochs.at(-1);

/** The run's training and evaluation time, summed over its epochs. */
export const minutes = (d: RunData) => (d.epochs.length ? (d.epochs.reduce((a, e) => a + e.seconds, 0) / 60).toFixed(1) : '-');

/** A figure of the paper as an SVG drawn by vega-lite and vega. */
export async function figureSvg(figure: Experiment['figures'][number], runs: RunData[]): Promise<string> {
  let spec: TopLevelSpec;
  if (figure.kind === 'loss') {
    // Raw: an honest sample (every k-th iteration, at most 2,000 points); smoothed: a moving average over 1% of the run.
    const values: { iteration: number; loss: number; series: string }[] = [];
    for (const d of runs) {
      const n = d.losses.length, k = Math.max(1, Math.ceil(n / 2000)), w = Math.max(1, Math.round(n / 100));
      let sum = 0;
      for (let i = 0; i < n; i++) {
        sum += d.losses[i] - (i >= w ? d.losses[i - w] : 0);
        if (i % k === 0) {
          values.push({ iteration: i + 1, loss: d.losses[i], series: `${d.run.label}, raw` });
          values.push({ iteration: i + 1, loss: sum / Math.min(i + 1, w), series: `${d.run.label}, smoothed` });
        }
      }
    }
    spec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: figure.title, width: 560, height: 300, data: { values },
      mark: { type: 'line', strokeWidth: 1 },
      encoding: {
        x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
        y: { field: 'loss', type: 'quantitative', title: 'training loss (mini-batch)' },
        color: { field: 'series', type: 'nominal', title: null, scale: { range: ['#9ecae1', '#08519c', '#fdae6b', '#a63603'] } },
      },
    };
  } else {
    const split = figure.kind === 'train-accuracy' ? 'train' : 'test';
    const values = runs.flatMap((d) => d.epochs.map((e) => ({ epoch: e.epoch, accuracy: e[split], run: d.run.label })));
    spec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: figure.title, width: 560, height: 300, data: { values },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
        y: { field: 'accuracy', type: 'quantitative', title: `${split} accuracy`, scale: { zero: false }, axis: { format: '.1%' } },
        color: { field: 'run', type: 'nominal', title: null },
      },
    };
  }
  // vega is loaded here, when a figure is drawn, not by every command that reads results.
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}

export interface FindingResult {
  text: string;
  verdict: 'reproduced' | 'not reproduced' | 'not yet run';
  detail: string;
}


/** Checks one of the paper's stated findings against our numbers (final accuracy unless it says otherwise). */
export function checkFinding(f: Finding, byId: Map<string, RunData>, paper: Experiment['paper'] = {}): FindingResult {
  const runs = f.runs.map((id) => byId.get(id)!);
  if (runs.some((d) => d.status === 'pending' || d.status === 'partial')) return { text: f.text, verdict: 'not yet run', detail: '' };
  const split = f.split ?? 'test';
  const acc = (d: RunData) => (d.status === 'diverged' ? -1 : last(d)?.[split] ?? -1);
  const shown = runs.map((d) => `${d.run.label} ${d.status === 'diverged' ? 'diverged' : pct(acc(d))}`).join(', ');
  let ok: boolean;
  switch (f.type) {
    case 'best': ok = runs.slice(1).every((d) => acc(runs[0]) > acc(d)); break;
    case 'worst': ok = runs.slice(1).every((d) => acc(runs[0]) < acc(d)); break;
    case 'order': ok = acc(runs[0]) > acc(runs[1]); break;
    case 'increasing': ok = runs.slice(1).every((d, i) => acc(d) > acc(runs[i])); break;
    case 'explodes': {
      const d = runs[0];
      const first = d.losses[0] ?? 0, peak = d.losses.reduce((a, b) => Math.max(a, b), 0);
      ok = d.status === 'diverged' || peak > 10 * first;
      return { text: f.text, verdict: ok ? 'reproduced' : 'not reproduced', detail: `${d.status === 'diverged' ? 'diverged' : `peak iteration loss ${peak.toFixed(1)}, first ${first.toFixed(1)}`}` };
    }
    case 'close': {
      const d = runs[0], e = last(d);
      const tolerance = f.tolerance ?? 0.005, p = paper[d.run.id];
      ok = !!e && !!p && Math.abs(e.train - p.train) <= tolerance && Math.abs(e.test - p.test) <= tolerance;
      return { text: f.text, verdict: ok ? 'reproduced' : 'not reproduced', detail: e ? `ours ${pct(e.train)} train, ${pct(e.test)} test` : '' };
    }
  }
  return { text: f.text, verdict: ok ? 'reproduced' : 'not reproduced', detail: `${split}: ${shown}` };
}

export interface ExperimentSummary {
  experiment: Experiment;
  runs: RunData[];
  findings: FindingResult[];
  figures: { id: string; title: string; file: string }[];
}

/** Writes every figure of the experiments (that has data) and results.json; returns the summaries. */
export async function summarize(outDir: string, experiments: Experiment[], plans: Map<string, PlannedRun[]>): Promise<ExperimentSummary[]> {
  mkdirSync(join(outDir, 'figures'), { recursive: true });
  const summaries: ExperimentSummary[] = [];
  for (const e of experiments) {
    const runs = plans.get(e.name)!.map((r) => readRun(outDir, r));
    const byId = new Map(runs.map((d) => [d.run.id, d]));
    const figures: ExperimentSummary['figures'] = [];
    for (const fig of e.figures) {
      const data = fig.runs.map((id) => byId.get(id)!).filter((d) => d.epochs.length > 0 || d.losses.length > 0);
      if (data.length === 0) continue;
      const file = join('figures', `${fig.id}.svg`);
      writeFileAtomic(join(outDir, file), await figureSvg(fig, data));
      figures.push({ id: fig.id, title: fig.title, file });
    }
    summaries.push({ experiment: e, runs, findings: e.findings.map((f) => checkFinding(f, byId, e.paper)), figures });
  }
  const json = summaries.map((s) => ({
    experiment: s.experiment.name, section: s.experiment.section, title: s.experiment.title,
    runs: s.runs.map((d) => ({ id: d.run.id, label: d.run.label, dir: d.run.key, status: d.status, epochs: d.epochs.length, final: last(d) ?? null, paper: s.experiment.paper?.[d.run.id] ?? null, seconds: d.epochs.reduce((a, e) => a + e.seconds, 0) })),
    findings: s.findings, figures: s.figures,
  }));
  writeFileAtomic(join(outDir, 'results.json'), JSON.stringify(json, null, 2) + '\n');
  return summaries;
}

export const runColumns = ['run', 'train accuracy', 'test accuracy', 'paper (train / test)', 'minutes'];

/** One row of an experiment's table: the run (and how far it got), its final accuracies, the paper's, its minutes. */
export function runCells(s: ExperimentSummary, d: RunData): string[] {
  const e = last(d), paper = s.experiment.paper?.[d.run.id];
  const status = d.status === 'done' ? '' : d.status === 'partial' ? ` (${d.epochs.length}/${d.run.config.epochs} epochs)` : ` (${d.status})`;
  return [d.run.label + status, pct(e?.train), pct(e?.test), paper ? `${pct(paper.train)} / ${pct(paper.test)}` : '-', minutes(d)];
}

/** The table of an experiment as text: final accuracies beside the paper's where it gives them, then its findings. */
export function experimentTable(s: ExperimentSummary): string {
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const findings = s.findings.map((f) => `- ${f.text}: **${f.verdict}**${f.detail ? ` (${f.detail})` : ''}`);
  return [
    `### §${s.experiment.section} ${s.experiment.title} (\`${s.experiment.name}\`)`, '',
    row(runColumns), `|${runColumns.map(() => '---').join('|')}|`, ...s.runs.map((d) => row(runCells(s, d))), '', ...findings,
  ].join('\n');
}
