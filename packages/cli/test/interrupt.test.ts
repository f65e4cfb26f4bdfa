// Ctrl-C at any moment of a run with the evaluation thread: the run resumes after the last epoch it
// finished, says so when interrupted, and ends with exactly the files of an uninterrupted run.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backprop, bin, repoRoot } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-interrupt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The evaluation thread whatever the size; ten progress lines an epoch, to interrupt at.
const env = { ...process.env, BACKPROP_EVALUATION_THREAD: '1', BACKPROP_PROGRESS_LINES: '10' };
const args = ['--layers', '784,64,10', '--init', 'xavier', '--subset', '6000', '--epochs', '4', '--threads', '2', '--keep-checkpoints', '1'];

/** Every file of a run directory, the timings taken out. */
function contents(out: string): Record<string, string> {
  const timings = /"(seconds|finished|started|peakRssMB|metricsLines)": ?("[^"]*"|[\d.e+-]+|\[[^\]]*\])/g;
  return Object.fromEntries(
    readdirSync(out)
      .filter((f) => !f.includes('lock'))
      .sort()
      .map((f) => {
        const bytes = readFileSync(join(out, f));
        return [f, /\.(json|jsonl)$/.test(f) ? bytes.toString('utf8').replace(timings, '"$1":0') : bytes.toString('base64')];
      }),
  );
}

/**
 * Runs `backprop train ARGS` and sends it SIGINT once its stderr shows `line` (a progress line), or
 * once `file` appears in `out`; what it printed, and how it ended.
 */
function interruptAt(trainArgs: string[], out: string, at: { line?: RegExp; file?: string }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, 'train', ...trainArgs], { cwd: repoRoot, env });
  let stdout = '',
    stderr = '',
    sent = false;
  const interrupt = () => {
    if (!sent) child.kill('SIGINT');
    sent = true;
  };
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (at.line?.test(stderr)) interrupt();
  });
  const poll = setInterval(() => at.file && existsSync(join(out, at.file)) && interrupt(), 5);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('Ctrl-C during a run with the evaluation thread', () => {
  it("at several points: each resume starts after the last finished epoch, as the interruption said, and the run ends with the uninterrupted run's files", async () => {
    const whole = join(dir, 'whole'),
      cut = join(dir, 'cut');
    const w = backprop(['train', ...args, '--quiet', '--out', whole], { env });
    expect([w.code, w.stderr]).toEqual([0, '']);
    // During epoch 1 (nothing saved yet); as epoch 1's checkpoint appears (written when its training
    // ends: its evaluation, in the thread, is then under way or just done); early in epoch 2; in the
    // middle of epoch 3; as the last epoch's checkpoint appears, before or after its evaluation is in.
    // (A progress line of an epoch is printed only after the result of the one before: no line
    // shows the moments an evaluation is still out.)
    const points = [
      { line: /^epoch 1\/4: [1-4]\d\d\//m },
      { file: 'checkpoint-epoch-001.safetensors' },
      { line: /^epoch 2\/4: \d+\//m },
      { line: /^epoch 3\/4: [3-5]\d\d\//m },
      { file: 'checkpoint-epoch-004.safetensors' },
    ];
    let resumeFrom: number | undefined;
    for (const [i, at] of points.entries()) {
      const r = await interruptAt(i === 0 ? [...args, '--out', cut] : ['--resume', cut, '--keep-checkpoints', '1'], cut, at);
      if (resumeFrom !== undefined)
        expect(r.stderr).toMatch(new RegExp(`^resuming ${cut} after epoch ${resumeFrom} of 4( \\(evaluating epoch \\d( and \\d)? first: .*\\))?\\n`));
      if (i === points.length - 1 && r.code === 0) break; // the last point may come after the end
      expect(r.code, r.stderr).toBe(130);
      const m = /\ninterrupted during (epoch|the evaluation of epoch) (\d); (.*); continue with: backprop train --resume (.*)\n$/.exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      // Every epoch trained before the interruption is kept, whatever its evaluation was doing.
      resumeFrom = m![1] === 'epoch' ? Number(m![2]) - 1 : Number(m![2]);
      expect(m![3]).toBe(
        resumeFrom === 0 ? 'no epoch is saved yet, the run starts again from epoch 1' : `the run resumes after epoch ${resumeFrom}, the last one saved`,
      );
      expect(m![4]).toBe(cut);
    }
    if (!existsSync(join(cut, 'summary.json'))) {
      const r = backprop(['train', '--resume', cut, '--keep-checkpoints', '1'], { env });
      expect(r.stderr).toMatch(new RegExp(`^resuming ${cut} after epoch ${resumeFrom} of 4`));
      expect(r.code).toBe(0);
    }
    expect(contents(cut)).toEqual(contents(whole));
  });
});
