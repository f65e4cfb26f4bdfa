import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExperiments } from '../src/experiments/define.ts';
import { planRuns } from '../src/experiments/plan.ts';
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
    expect(r.stderr).toContain(`overrides (from ${join(out, 'overrides.json')}): epochs 2, subset 400: a quick look, not the paper's settings`);
    expect(r.stdout).toMatch(/depth\/1-layer +784-100-10 +tanh +hinge +0\.01 +2 +done/);
    expect(r.stdout).toMatch(/depth\/3-layers +784-600-800-100-10 +tanh +hinge +0\.01 +2 +pending/);
    // Flags given with --list are the settings listed.
    expect(backprop(['experiment', 'depth', '--list', '--epochs', '3', '--out', out]).stdout).toMatch(/depth\/1-layer +784-100-10 +tanh +hinge +0\.01 +3 +pending/);
  });

  it("--seeds N runs the paper's experiments at seeds 1..N; seed 1 is the run made without it", () => {
    const out = quickLookDir('seeds');
    const r = backprop(['experiment', 'depth', '--list', '--seeds', '3', '--epochs', '2', '--subset', '400', '--out', out]);
    expect(r.stderr).toContain("overrides: epochs 2, subset 400, seeds 1-3: a quick look, not the paper's settings");
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('depth/'));
    expect(rows.map((l) => l.split(/ {2,}/).slice(0, 1).concat(l.split(/ {2,}/).slice(-2)))).toEqual([
      ['depth/1-layer', '1', 'done'], ['depth/1-layer', '2', 'pending'], ['depth/1-layer', '3', 'pending'],
      ['depth/2-layers', '1', 'pending'], ['depth/2-layers', '2', 'pending'], ['depth/2-layers', '3', 'pending'],
      ['depth/3-layers', '1', 'pending'], ['depth/3-layers', '2', 'pending'], ['depth/3-layers', '3', 'pending'],
    ]);
  });

  it('names a corrupt overrides.json (report ignored it silently)', () => {
    const out = quickLookDir('corrupt');
    writeFileSync(join(out, 'overrides.json'), '{"epochs": ');
    for (const args of [['experiment', 'depth', '--list', '--out', out], ['report', out]]) {
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
