/** `backprop check FILE`: a hand calculation, checked line by line. */
import { readUserFile } from '@backprop/mlp/files';
import { basename } from 'node:path';
import type { Argv } from 'yargs';
import { CheckError, checkSource, explain, summarize as summary } from '@backprop/mlp/check';
import { table, truncate } from '../format.ts';

export const checkOptions = (y: Argv) =>
  y
    .positional('file', { type: 'string', demandOption: true, describe: 'a derivation file' })
    .option('json', { type: 'boolean', describe: 'print the verdicts as JSON' })
    .option('explain', { type: 'string', describe: 'print the backward pass step by step for a derivative, e.g. dl/dw5' })
    .option('graph', { type: 'string', describe: "draw the derivation's graph, each claim's verdict on its node, to this file (SVG; DOT for .dot or .gv)" });

/** Why a derivation file cannot be read, in words (Node's ENOENT, EISDIR... are no message for a user). */
export function readError(path: string, code: string | undefined): string {
  const shown = truncate(path, 100);
  switch (code) {
    case 'ENOENT':
      return `no such file: ${shown}`;
    case 'ENOTDIR':
      return `no such file: ${shown} (a part of the path is not a directory)`;
    case 'EISDIR':
      return `${shown} is a directory; check reads a derivation file (a .txt, or a .md with derivation blocks)`;
    case 'ENAMETOOLONG':
      return `the file name is too long (${path.length} characters, or a part of it over 255): ${shown}`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied reading ${shown}`;
    case 'ELOOP':
      return `too many levels of symbolic links in ${shown}`;
    default:
      return `cannot read ${shown}${code ? ` (error ${code})` : ''}`;
  }
}

export async function checkCommand(args: { file: string; json?: boolean; explain?: string; graph?: string }): Promise<number> {
  let source: string;
  try {
    source = readUserFile(args.file, { limit: 16 * 2 ** 20, what: 'a derivation' }).toString('utf8');
  } catch (e) {
    // readUserFile refuses devices and pipes unread; what the system said is put in words here.
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code ? readError(args.file, code) : (e as Error).message);
  }
  if (/\.(md|markdown)$/i.test(args.file)) {
    // markdown-it is loaded for Markdown files only.
    const markdown = (await import('@backprop/mlp/check/markdown')).derivationOfMarkdown(source);
    if (markdown.blocks === 0)
      throw new Error(`${args.file}: no fenced code block marked derivation (\`\`\`derivation); in a Markdown file only those lines are checked`);
    source = markdown.source;
  }
  let result;
  try {
    result = checkSource(source);
  } catch (e) {
    if (e instanceof CheckError) throw new Error(`${args.file}:${e.line}: ${e.message.replace(/^line \d+: /, '')}`);
    throw e;
  }
  const { derivation, report } = result;
  const wrong = report.counts.wrong > 0;
  if (args.graph) {
    // Loaded here: the layout library (Graphviz) and the atomic writer are for --graph only.
    const [{ derivationGraph }, { writeFileAtomic }] = await Promise.all([import('../check/graph.ts'), import('@backprop/mlp')]);
    const picture = await derivationGraph(derivation, report, `${basename(args.file)}: ${summary(report)}`, args.graph);
    try {
      writeFileAtomic(args.graph, picture);
    } catch (e) {
      // The writer names most causes in words; a name too long it passes on in Node's own text.
      if ((e as NodeJS.ErrnoException).code !== 'ENAMETOOLONG') throw e;
      throw new Error(`--graph: ${readError(args.graph, 'ENAMETOOLONG')}`);
    }
  }
  if (args.json) {
    console.log(JSON.stringify({ file: args.file, ...report }, null, 2));
    return wrong ? 1 : 0;
  }
  const rows = report.verdicts.map((v) => [
    String(v.line),
    truncate(v.expression ? `${v.claim} = ${v.expression}` : v.claim, 44),
    truncate(v.claimed, 24),
    truncate(v.computed, 24),
    v.truncated ? 'ok (truncated)' : v.verdict === 'undecided' ? 'cannot decide' : v.verdict,
  ]);
  const [head, rule, ...lines] = table(['line', 'claim', 'claimed', 'computed', 'verdict'], rows, ['r']).split('\n');
  // A note goes on its own line under its claim, so that it does not widen the table.
  const noted = lines.flatMap((line, i) => {
    const v = report.verdicts[i];
    return v.note && v.verdict !== 'ok' ? [line, `      ${v.verdict === 'wrong' ? '!' : v.verdict === 'undecided' ? '?' : '~'} ${v.note}`] : [line];
  });
  console.log([head, rule, ...noted].join('\n'));
  console.log(`\n${summary(report)}`);
  if (args.explain) {
    const m = /^d(.+)\/d(.+)$/.exec(args.explain);
    if (!m) throw new Error(`--explain ${args.explain}: expected a derivative such as dl/dw5`);
    console.log('\n' + explain(derivation, m[1], m[2]));
  }
  return wrong ? 1 : 0;
}
