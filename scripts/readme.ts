/**
 * `npm run readme`: regenerates the printed outputs of the README and of the guides in docs/ (the
 * documents) by running their commands, so that after a change to what a command prints one command
 * brings them up to date. `npm run readme -- --check` compares instead and exits 1 on drift;
 * test/readme.test.ts does the same in the suite.
 *
 * An HTML comment (invisible when rendered) on the line before a fenced block says what it holds:
 *   <!-- output: COMMAND -->                  `$ COMMAND`, then what it prints (stdout and stderr
 *                                              together, as a terminal shows them); it must exit 0
 *   <!-- output (exit N): COMMAND -->         the same, for a command that must exit with status N
 *   <!-- output from "TEXT": COMMAND -->      the same from the first printed line that starts with
 *                                              TEXT, after a line `...`
 *   <!-- file: PATH -->                       the text of a file of the repository (the examples);
 *                                              PATH is from the repository's root, in docs/ too
 * Before a picture, `![what](PATH)` (PATH from the document's directory, as Markdown links are):
 *   <!-- image: COMMAND -->                   the file PATH that COMMAND writes (an SVG it draws)
 * Before a table or block of numbers from long runs (25 epochs, the paper's sweep, benchmarks):
 *   <!-- measured: WHAT -->                   a measurement: kept as written, neither run nor compared
 *
 * Commands run as the README gives them, from a scratch directory under .tmp/ that links the
 * repository's examples/ in, so that what they write (runs/quick) never touches the user's own runs.
 * Timings (`0.2 s`, `left 4s`, a sweep table's minutes) change from run to run and are normalised before comparing. Every
 * output block runs in a few seconds (the suite runs them all); a slow command gets a faster variant
 * in the README (gradcheck's `--full-limit 100`), and long runs are measurements.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const readmePath = join(root, 'README.md');

/** The documents whose blocks are regenerated: the README (the front page) and the guides, docs/*.md. */
export function documents(): string[] {
  const guides = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort();
  return ['README.md', ...guides.map((f) => `docs/${f}`)];
}

export type Block =
  | { kind: 'output'; command: string; from?: string; exit: number; open: number; close: number; body: string }
  | { kind: 'file'; path: string; open: number; close: number; body: string }
  | { kind: 'image'; command: string; path: string; line: number }
  | { kind: 'measured'; what: string; line: number };

const OUTPUT = /^<!-- output(?: \(exit (\d+)\))?(?: from "([^"]+)")?: (.+?) -->$/;
const FILE = /^<!-- file: (.+?) -->$/;
const MEASURED = /^<!-- measured: (.+?) -->$/;
const IMAGE = /^<!-- image: (.+?) -->$/;

/**
 * The marked blocks of a document (`name`: its path from the root, for messages and for the paths of its
 * pictures); throws, naming the line, on a marker not followed by what it marks.
 */
export function blocks(readme: string, name = 'README.md'): Block[] {
  const lines = readme.split('\n');
  const out: Block[] = [];
  lines.forEach((line, i) => {
    const output = OUTPUT.exec(line),
      file = FILE.exec(line),
      measured = MEASURED.exec(line),
      image = IMAGE.exec(line);
    if (image) {
      const picture = /^!\[[^\]]*\]\(([^)\s]+)\)$/.exec(lines[i + 1] ?? '');
      if (!picture) throw new Error(`${name}:${i + 1}: an image marker must be followed by a picture, ![what](PATH)`);
      out.push({ kind: 'image', command: image[1], path: relative(root, join(root, dirname(name), picture[1])), line: i + 1 });
    }
    if (measured) {
      if (!/^(\||```)/.test(lines[i + 1] ?? '')) throw new Error(`${name}:${i + 1}: a measured marker must be followed by a table or a fenced block`);
      out.push({ kind: 'measured', what: measured[1], line: i + 1 });
    }
    if (!output && !file) {
      if (line.startsWith('<!-- output') || line.startsWith('<!-- file')) throw new Error(`${name}:${i + 1}: malformed marker: ${line}`);
      return;
    }
    if (!/^```\w*$/.test(lines[i + 1] ?? '')) throw new Error(`${name}:${i + 1}: a marker must be followed by a fenced block`);
    const close = lines.indexOf('```', i + 2);
    if (close < 0) throw new Error(`${name}:${i + 2}: the fenced block is not closed`);
    const body = lines.slice(i + 2, close).join('\n') + '\n';
    if (output) out.push({ kind: 'output', exit: Number(output[1] ?? 0), from: output[2], command: output[3], open: i + 1, close, body });
    else out.push({ kind: 'file', path: file![1], open: i + 1, close, body });
  });
  return out;
}

/**
 * What a command prints (stdout and stderr interleaved), run from a scratch directory; throws on
 * another exit status. With `collect`, also the text of the file it wrote there.
 */
export function run(command: string, exit = 0, collect?: string): string {
  mkdirSync(join(root, '.tmp'), { recursive: true });
  const scratch = mkdtempSync(join(root, '.tmp', 'readme-'));
  try {
    symlinkSync(join(root, 'examples'), join(scratch, 'examples'));
    if (collect) mkdirSync(dirname(join(scratch, collect)), { recursive: true });
    // The default kernels, no colours, and none of the npm_* settings of a surrounding `npm test`
    // (npx would read them as its own configuration and may warn about them).
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|BACKPROP_KERNELS$|FORCE_COLOR$)/i.test(k)));
    const r = spawnSync('sh', ['-c', `${command} 2>&1`], { cwd: scratch, env: { ...env, NO_COLOR: '1' }, encoding: 'utf8', timeout: 600_000 });
    if (r.error) throw r.error;
    if (r.status !== exit) throw new Error(`\`${command}\` exited with status ${r.status ?? r.signal}, not ${exit}; it printed:\n${r.stdout}`);
    return collect ? readFileSync(join(scratch, collect), 'utf8') : r.stdout;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** What a block should hold today. */
export function expected(block: Block): string {
  if (block.kind === 'file') return readFileSync(join(root, block.path), 'utf8');
  if (block.kind === 'image') return run(block.command, 0, block.path);
  if (block.kind !== 'output') throw new Error('a measurement is not regenerated');
  let printed = run(block.command, block.exit).replace(/\s+$/, '').split('\n');
  if (block.from) {
    const start = printed.findIndex((l) => l.startsWith(block.from!));
    if (start < 0) throw new Error(`\`${block.command}\` printed no line starting with "${block.from}"`);
    printed = ['...', ...printed.slice(start)];
  }
  return [`$ ${block.command}`, ...printed].join('\n') + '\n';
}

/** Text with its timings replaced by `<time>` and trailing spaces dropped, for comparing. */
export function normalise(text: string): string {
  return (
    text
      .replace(/\b\d+(\.\d+)? ?(ms|s|seconds?|minutes?)\b/g, '<time>')
      // a table's last column of plain numbers is its minutes (a sweep's table): a timing too
      .replace(/^(\|.*\| )\d+(\.\d+)? \|$/gm, '$1<time> |')
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n')
  );
}

/**
 * The README with every output and file block that no longer matches replaced by what it should hold
 * today (a block that differs only in its timings is left as it is, so that the README does not churn).
 */
export function regenerate(readme: string, onBlock: (b: Block, changed: boolean) => void = () => {}, { writeImages = false, name = 'README.md' } = {}): string {
  const lines = readme.split('\n');
  const changes = blocks(readme, name).flatMap((b) => {
    if (b.kind === 'measured') return [];
    if (b.kind === 'image') {
      const picture = expected(b),
        path = join(root, b.path);
      const changed = !existsSync(path) || readFileSync(path, 'utf8') !== picture;
      onBlock(b, changed);
      if (changed && writeImages) {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(`${path}.tmp`, picture);
        renameSync(`${path}.tmp`, path);
      }
      return [];
    }
    const text = expected(b);
    const changed = normalise(text) !== normalise(b.body);
    onBlock(b, changed);
    return changed ? [{ b, text }] : [];
  });
  // From the last block up, so that the line numbers of those before stay valid.
  for (const { b, text } of changes.reverse()) {
    lines.splice(b.open + 1, b.close - b.open - 1, ...text.replace(/\n$/, '').split('\n'));
  }
  return lines.join('\n');
}

const label = (b: Block) => (b.kind === 'output' || b.kind === 'image' ? `$ ${b.command}` : b.kind === 'file' ? b.path : b.what);

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const drifted: string[] = [];
  for (const name of documents()) {
    const path = join(root, name);
    const text = readFileSync(path, 'utf8');
    const before = drifted.length;
    const updated = regenerate(
      text,
      (b, changed) => {
        console.log(`${changed ? (check ? 'DRIFTED' : 'updated') : 'same   '}  ${name}: ${label(b)}`);
        if (changed) drifted.push(`${name}: ${label(b)}`);
      },
      { writeImages: !check, name },
    );
    if (!check && updated !== text) {
      writeFileSync(`${path}.tmp`, updated); // whole or not at all
      renameSync(`${path}.tmp`, path);
    }
    if (!check) console.log(`${name}: ${drifted.length - before} block(s) changed`);
  }
  if (check) {
    if (drifted.length) console.log(`\n${drifted.length} block(s) no longer match; run npm run readme to regenerate them`);
    process.exit(drifted.length ? 1 : 0);
  }
}
