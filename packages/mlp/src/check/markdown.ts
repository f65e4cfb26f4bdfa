/**
 * A derivation written up in Markdown: the lines inside fenced code blocks marked `derivation`
 * are checked and everything else is prose. Where a fence starts and ends (``` or ~~~, indented,
 * inside a list or a block quote) is CommonMark's business, so markdown-it decides it.
 */
import MarkdownIt from 'markdown-it';

/**
 * The derivation of a Markdown file: each line of a ```derivation block on its own line number,
 * every other line empty, so that the checker's line numbers are the Markdown file's.
 */
export function derivationOfMarkdown(markdown: string): { source: string; blocks: number } {
  const lines = markdown.split(/\r?\n/).map(() => '');
  let blocks = 0;
  for (const token of new MarkdownIt().parse(markdown, {})) {
    if (token.type !== 'fence' || token.info.trim().split(/\s+/)[0] !== 'derivation' || !token.map) continue;
    blocks++;
    // The content comes without the block quote's '>' or the list's indentation, a line per line.
    const content = token.content.replace(/\n$/, '').split('\n');
    const first = token.map[0] + 1; // the line after the opening fence (0-based)
    content.forEach((text, i) => (lines[first + i] = text));
  }
  return { source: lines.join('\n'), blocks };
}
