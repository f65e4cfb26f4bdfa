// The README and the guides in docs/ as a new user reads them: their commands run as written after the
// two set-up commands, every block of printed output is what its command prints today
// (scripts/readme.ts regenerates them), and every link between them leads somewhere.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { blocks, documents, expected, normalise, root } from '../scripts/readme.ts';

const scripts = Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts);
const docs = documents().map((name) => ({ name, text: readFileSync(join(root, name), 'utf8') }));

/** A document's code: fenced blocks and inline spans, with the line each starts on. */
function code(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fenced = false;
  text.split('\n').forEach((line, i) => {
    if (line.trimStart().startsWith('```')) fenced = !fenced;
    else if (fenced) out.push({ line: i + 1, text: line });
    else for (const m of line.matchAll(/`([^`]+)`/g)) out.push({ line: i + 1, text: m[1] });
  });
  return out;
}

/** The commands a reader runs: the lines of ```sh blocks and the `$ ` lines of output blocks. */
function commands(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let shell: boolean | null = null;
  text.split('\n').forEach((line, i) => {
    if (line.startsWith('```')) shell = shell === null ? line === '```sh' : null;
    else if (shell && line.trim() && !line.startsWith('#')) out.push({ line: i + 1, text: line.replace(/\s+#.*$/, '') });
    else if (shell !== null && line.startsWith('$ ')) out.push({ line: i + 1, text: line.slice(2) });
  });
  return out;
}

/** The anchors GitHub gives a document's headings (lower case, punctuation dropped, spaces to hyphens, repeats numbered). */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = !fenced && /^#{1,6} (.+)$/.exec(line);
    if (!heading) continue;
    const base = heading[1]
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}_\- ]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

/** The relative links of a document, outside code: [text](target), with their lines. */
function links(text: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  let fenced = false;
  text.split('\n').forEach((line, i) => {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) return;
    for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) if (!/^[a-z]+:/.test(m[1])) out.push({ line: i + 1, target: m[1] });
  });
  return out;
}

it('the guides are the pages the README links to, and every relative link of every document leads to a file and a heading that exist', () => {
  const readme = docs[0].text;
  for (const { name } of docs.slice(1)) expect(readme, `README.md links to ${name}`).toContain(`](${name})`);
  const broken: string[] = [];
  for (const { name, text } of docs) {
    for (const { line, target } of links(text)) {
      const [file, anchor] = target.split('#');
      const path = file ? normalize(join(dirname(name), file)) : name;
      if (!existsSync(join(root, path))) broken.push(`${name}:${line}: ${target} (no file ${path})`);
      else if (anchor !== undefined && !anchors(readFileSync(join(root, path), 'utf8')).has(anchor))
        broken.push(`${name}:${line}: ${target} (no heading #${anchor} in ${path})`);
    }
  }
  expect(broken).toEqual([]);
});

it('marks every block of command output with its command, and long runs as measurements', () => {
  let outputs = 0,
    measured = 0;
  for (const { name, text } of docs) {
    const marked = blocks(text, name);
    const dollarBlocks = text.split('\n').flatMap((l, i, all) => (all[i - 1]?.startsWith('```') && l.startsWith('$ ') ? [i + 1] : []));
    const outputBlocks = marked.filter((b) => b.kind === 'output');
    expect(dollarBlocks, name).toEqual(outputBlocks.map((b) => b.open + 2));
    outputs += outputBlocks.length;
    measured += marked.filter((b) => b.kind === 'measured').length;
  }
  expect(outputs).toBeGreaterThanOrEqual(5);
  expect(measured).toBeGreaterThanOrEqual(8); // the 25 epochs, the sweep's six tables, the benchmarks
});

for (const { name, text } of docs) {
  describe(name, () => {
    it('runs no bare pnpm, which the set-up does not install (only npx -y pnpm@VERSION)', () => {
      expect(
        code(text)
          .filter(({ text }) => /(?<![@\w-])pnpm(\s|$)/.test(text))
          .map(({ line, text }) => `${name}:${line}: ${text}`),
      ).toEqual([]);
    });

    it('gives every command in a form that works after the set-up: npx backprop, npx tsx, npm test, npm run SCRIPT', () => {
      // GNU parallel running backprop (Debian's parallel; the shard test runs the same command).
      const runnable = /^(npx -y pnpm@\d+\.\d+\.\d+ |npx backprop |npx tsx |npm test$|npm run (\S+)|parallel --will-cite npx backprop )/;
      const bad = commands(text).filter(
        ({ text }) => !runnable.test(text) || (/^npm run (\S+)/.test(text) && !scripts.includes(/^npm run (\S+)/.exec(text)![1])),
      );
      expect(bad.map(({ line, text }) => `${name}:${line}: ${text}`)).toEqual([]);
      for (const { text: span } of code(text)) {
        const script = /^npm run ([\w:-]+)/.exec(span)?.[1];
        if (script) expect(scripts, `npm run ${script}`).toContain(script);
      }
    });

    for (const b of blocks(text, name)) {
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
}
