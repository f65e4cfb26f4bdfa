// The README as a new user reads it: its commands run as written after the two set-up commands, and
// every block of printed output is what its command prints today (scripts/readme.ts regenerates them).
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { blocks, expected, normalise, readmePath, root } from '../scripts/readme.ts';

const readme = readFileSync(readmePath, 'utf8');
const marked = blocks(readme);
const scripts = Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts);

/** The README's code: fenced blocks and inline spans, with the line each starts on. */
function code(): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fenced = false;
  readme.split('\n').forEach((text, i) => {
    if (text.trimStart().startsWith('```')) fenced = !fenced;
    else if (fenced) out.push({ line: i + 1, text });
    else for (const m of text.matchAll(/`([^`]+)`/g)) out.push({ line: i + 1, text: m[1] });
  });
  return out;
}

/** The commands a reader runs: the lines of ```sh blocks and the `$ ` lines of output blocks. */
function commands(): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let shell: boolean | null = null;
  readme.split('\n').forEach((text, i) => {
    if (text.startsWith('```')) shell = shell === null ? text === '```sh' : null;
    else if (shell && text.trim() && !text.startsWith('#')) out.push({ line: i + 1, text: text.replace(/\s+#.*$/, '') });
    else if (shell !== null && text.startsWith('$ ')) out.push({ line: i + 1, text: text.slice(2) });
  });
  return out;
}

describe('the README', () => {
  it('runs no bare pnpm, which the set-up does not install (only npx -y pnpm@VERSION)', () => {
    expect(
      code()
        .filter(({ text }) => /(?<![@\w-])pnpm(\s|$)/.test(text))
        .map(({ line, text }) => `README.md:${line}: ${text}`),
    ).toEqual([]);
  });

  it('gives every command in a form that works after the set-up: npx backprop, npx tsx, npm test, npm run SCRIPT', () => {
    // GNU parallel running backprop (Debian's parallel; the shard test runs the same command).
    const runnable = /^(npx -y pnpm@\d+\.\d+\.\d+ |npx backprop |npx tsx |npm test$|npm run (\S+)|parallel --will-cite npx backprop )/;
    const bad = commands().filter(({ text }) => !runnable.test(text) || (/^npm run (\S+)/.test(text) && !scripts.includes(/^npm run (\S+)/.exec(text)![1])));
    expect(bad.map(({ line, text }) => `README.md:${line}: ${text}`)).toEqual([]);
    for (const { text } of code()) {
      const script = /^npm run ([\w:-]+)/.exec(text)?.[1];
      if (script) expect(scripts, `npm run ${script}`).toContain(script);
    }
  });

  it('marks every block of command output with its command, and long runs as measurements', () => {
    const outputs = marked.filter((b) => b.kind === 'output');
    const dollarBlocks = readme.split('\n').flatMap((l, i, all) => (all[i - 1]?.startsWith('```') && l.startsWith('$ ') ? [i + 1] : []));
    expect(dollarBlocks.length).toBeGreaterThanOrEqual(5);
    expect(dollarBlocks).toEqual(outputs.map((b) => b.open + 2));
    expect(marked.filter((b) => b.kind === 'measured').length).toBeGreaterThanOrEqual(8); // the 25 epochs, the sweep's six tables, the benchmarks
  });

  for (const b of marked) {
    if (b.kind === 'file') {
      it(`shows ${b.path} as it is`, () => {
        expect(b.body).toBe(expected(b));
      });
    } else if (b.kind === 'image') {
      it(`shows the picture \`${b.command}\` draws today, ${b.path} (npm run readme redraws it)`, () => {
        expect(existsSync(join(root, b.path)), b.path).toBe(true);
        expect(readFileSync(join(root, b.path), 'utf8')).toBe(expected(b));
      });
    } else if (b.kind === 'output') {
      it(`shows what \`${b.command}\` prints today (npm run readme regenerates it)`, () => {
        expect(normalise(b.body)).toBe(normalise(expected(b)));
      });
    }
  }
});
