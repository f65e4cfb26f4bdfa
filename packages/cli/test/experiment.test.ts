import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExperiments } from '../src/experiments/define.ts';
import { planRuns, type Overrides } from '../src/experiments/plan.ts';
import { backprop } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-experiment-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A directory as `experiment depth --epochs 2 --subset 400` leaves it, its first run finished (no training needed). */
function quickLookDir(name: string): string {
  const out = join(dir, name);
  const depth = loadExperiments().find((e) => e.name === 'depth')!;
  const [first] = planRuns(depth, { epochs: 2, subset: 400 });
  mkdirSync(join(out, first.key), { recursive: true });
  writeFileSync(join(out, first.key, 'config.json'), JSON.stringify({ config: first.config }));
  writeFileSync(join(out, first.key, 'metrics.jsonl'), '');
  writeFileSync(join(out, first.key, 'summary.json'), '{"status": "done"}\n');
  writeFileSync(join(out, 'overrides.json'), '{"epochs":2,"subset":400}\n');
  return out;
}

describe('backprop experiment --list', () => {
  it("reads the directory's overrides, so that runs made with --epochs and --subset show as done", () => {
    const out = quickLookDir('quick');
    const r = backprop(['experiment', 'depth', '--list', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `overrides (from ${join(out, 'overrides.json')}): epochs 2, subset 400 (the first 400 training images and the first 67 test images): a quick look, not the paper's settings`,
    );
    expect(r.stdout).toMatch(/depth\/1-layer +784-100-10 +tanh +hinge +0\.01 +2 +done/);
    expect(r.stdout).toMatch(/depth\/3-layers +784-600-800-100-10 +tanh +hinge +0\.01 +2 +pending/);
    // Flags given with --list are the settings listed.
    expect(backprop(['experiment', 'depth', '--list', '--epochs', '3', '--out', out]).stdout).toMatch(
      /depth\/1-layer +784-100-10 +tanh +hinge +0\.01 +3 +pending/,
    );
  });

  it("--seeds N runs the paper's experiments at seeds 1..N; seed 1 is the run made without it", () => {
    const out = quickLookDir('seeds');
    const r = backprop(['experiment', 'depth', '--list', '--seeds', '3', '--epochs', '2', '--subset', '400', '--out', out]);
    expect(r.stderr).toContain(
      "overrides: epochs 2, subset 400 (the first 400 training images and the first 67 test images), seeds 1-3: a quick look, not the paper's settings",
    );
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('depth/'));
    expect(rows.map((l) => l.split(/ {2,}/).slice(0, 1).concat(l.split(/ {2,}/).slice(-2)))).toEqual([
      ['depth/1-layer', '1', 'done'],
      ['depth/1-layer', '2', 'pending'],
      ['depth/1-layer', '3', 'pending'],
      ['depth/2-layers', '1', 'pending'],
      ['depth/2-layers', '2', 'pending'],
      ['depth/2-layers', '3', 'pending'],
      ['depth/3-layers', '1', 'pending'],
      ['depth/3-layers', '2', 'pending'],
      ['depth/3-layers', '3', 'pending'],
    ]);
  });

  it('names a corrupt overrides.json (report ignored it silently)', () => {
    const out = quickLookDir('corrupt');
    writeFileSync(join(out, 'overrides.json'), '{"epochs": ');
    for (const args of [
      ['experiment', 'depth', '--list', '--out', out],
      ['report', out],
    ]) {
      const r = backprop(args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toMatch(/^backprop: .*corrupt\/overrides.json: not valid JSON \(.*\); delete it to use the experiments' own settings$/);
    }
  });
});

describe('backprop report', () => {
  it('refuses a directory that does not exist, and creates nothing', () => {
    const missing = join(dir, 'no-such-dir');
    const r = backprop(['report', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^backprop: .*no-such-dir: no such directory; run backprop experiment --out .*no-such-dir first$/);
    expect(existsSync(missing)).toBe(false);
  });
});

/**
 * A directory of the paper's depth and final experiments as `experiment` leaves it after running
 * them with `overrides`, every run finished with the final accuracies `train` and `test` (written,
 * not trained: what is tested is what the report makes of them).
 */
function finishedDir(name: string, overrides: Overrides, train: number, test: number): string {
  const out = join(dir, name);
  for (const e of loadExperiments().filter((x) => x.name === 'depth' || x.name === 'final')) {
    for (const run of planRuns(e, overrides)) {
      const runDir = join(out, run.key);
      mkdirSync(runDir, { recursive: true });
      writeFileSync(join(runDir, 'config.json'), JSON.stringify({ config: run.config }));
      const losses = { type: 'iterations', epoch: 1, first: 1, losses: [9, 4, 2, 1.5, 1.2, 1] };
      const epochs = Array.from({ length: run.config.epochs }, (_, i) => ({
        type: 'epoch',
        epoch: i + 1,
        iteration: 6,
        trainAccuracy: train,
        testAccuracy: test,
        trainLoss: 1,
        testLoss: 1,
        seconds: 1,
      }));
      writeFileSync(join(runDir, 'metrics.jsonl'), [losses, ...epochs].map((m) => JSON.stringify(m)).join('\n') + '\n');
      writeFileSync(join(runDir, 'summary.json'), '{"status": "done"}\n');
    }
  }
  writeFileSync(join(out, 'overrides.json'), JSON.stringify(overrides) + '\n');
  return out;
}

describe('backprop report of a quick look (--epochs, --subset)', () => {
  it("never presents it as the paper's result: every table, figure and finding says what was overridden, and no finding is judged", () => {
    // The case: experiment depth --epochs 2 --subset 3000, reported with the final network beside it.
    const out = finishedDir('quick-look', { epochs: 2, subset: 3000 }, 0.1097, 0.098);
    const r = backprop(['report', out]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const note = "A quick look (epochs 2, subset 3000): not the paper's settings, so not set beside the paper's numbers, and its findings are not judged.";
    expect(r.stdout).toContain(
      [
        '### §3.5 The final network (`final`)',
        '',
        note,
        '',
        '| run | train accuracy | test accuracy | minutes |',
        '|---|---|---|---|',
        '| 784-800-100-10, tanh, hinge, 25 epochs [epochs 2, subset 3000] | 10.97% | 9.80% | 0.0 |',
        '',
        '- 99.31% train and 97.44% test accuracy (within 0.5 points): **not judged** (quick look: epochs 2, subset 3000)',
      ].join('\n'),
    );
    expect(r.stdout).toContain('| 1 hidden layer (100) [epochs 2, subset 3000] | 10.97% | 9.80% | 0.0 |');
    expect(r.stdout).toContain('- deeper networks end up performing better: **not judged** (quick look: epochs 2, subset 3000)');
    expect(r.stdout).not.toMatch(/paper \(train \/ test\)|reproduced|99\.31% \/ 97\.44%/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<h1>Backpropagation by hand: the experiments, a quick look (epochs 2, subset 3000)</h1>');
    expect(html).toContain(`<p class="overrides">${note.replace(/'/g, "'")}</p>`);
    expect(html).toContain('<tr><td>784-800-100-10, tanh, hinge, 25 epochs [epochs 2, subset 3000]</td>');
    expect(html).toContain(
      '<li class="not-judged">deeper networks end up performing better: <b>not judged</b> <span>(quick look: epochs 2, subset 3000)</span></li>',
    );
    expect(html).not.toMatch(/<b>(not )?reproduced<\/b>|99\.31% \/ 97\.44%/);
    // Each figure's title, drawn in its SVG.
    for (const f of ['figure-15', 'figure-19'])
      expect(readFileSync(join(out, 'figures', `${f}.svg`), 'utf8')).toMatch(/Figure 1[59]: [^<]*\(quick look: epochs 2, subset 3000\)/);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    const final = results.find((e: { experiment: string }) => e.experiment === 'final');
    expect([final.overrides, final.runs[0].paper, final.findings[0].verdict]).toEqual([{ epochs: 2, subset: 3000 }, null, 'not judged']);
  });

  it("judges the paper's settings against the paper's numbers as before, and marks --seeds alone without calling it a quick look", () => {
    const paper = backprop(['report', finishedDir('paper-settings', {}, 0.9931, 0.9744)]);
    expect(paper.code).toBe(0);
    expect(paper.stdout).toContain('| 784-800-100-10, tanh, hinge, 25 epochs | 99.31% | 97.44% | 99.31% / 97.44% | 0.4 |');
    expect(paper.stdout).toContain('- 99.31% train and 97.44% test accuracy (within 0.5 points): **reproduced** (ours 99.31% train, 97.44% test)');
    expect(paper.stdout).not.toMatch(/quick look|Overrides/);
    const seeds = backprop(['report', finishedDir('seeds', { seeds: 2 }, 0.9931, 0.9744)]);
    expect(seeds.code).toBe(0);
    expect(seeds.stdout).toContain('### §3.5 The final network (`final`)\n\nOverrides: seeds 1-2.\n');
    expect(seeds.stdout).toMatch(/\| 784-800-100-10, tanh, hinge, 25 epochs \| 99\.31% ± 0\.00 \| 97\.44% ± 0\.00 \| 99\.31% \/ 97\.44% \|/);
    expect(seeds.stdout).not.toContain('quick look');
  });
});
