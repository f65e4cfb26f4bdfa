/**
 * The site's docs: README.md and docs/*.md rendered to HTML at build time (markdown-it, as the
 * checker's Markdown files are read), one fragment a page in dist/docs/, which the docs panel shows.
 * Links are rewritten for the site: to another page, `#docs=<page>` (with `%23<heading>`); to a file
 * of the repository (an example, a model file, a picture), the file, copied into the site; to a
 * directory, no link (its name stays, as text). Headings get GitHub's anchors, so a link to
 * `cli.md#backprop-check-file` lands where it does on GitHub.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import MarkdownIt from 'markdown-it';

export interface DocPage {
  /** In the URL: `README` or a guide's file name without .md. */
  name: string;
  title: string;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens (repeats numbered by the caller). */
const slug = (text: string) =>
  text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}_\- ]/gu, '')
    .replace(/ /g, '-');

/** The page name of a repository path, if it is one of the pages: README.md -> README, docs/cli.md -> cli. */
function pageOf(path: string): string | undefined {
  if (path === 'README.md') return 'README';
  const m = /^docs\/([^/]+)\.md$/.exec(path);
  return m ? m[1] : undefined;
}

/**
 * Renders README.md and docs/*.md from `repo` into `out`/docs/ (and the files they link to into
 * `out`), and docs/index.json: the pages, and whether the site has the API reference (`api`).
 */
export function buildDocs(repo: string, out: string, api: boolean): DocPage[] {
  const paths = [
    'README.md',
    ...readdirSync(join(repo, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => `docs/${f}`),
  ];
  mkdirSync(join(out, 'docs'), { recursive: true });
  const pages: DocPage[] = [];
  for (const path of paths) {
    const name = pageOf(path)!;
    const text = readFileSync(join(repo, path), 'utf8');
    // html: the guides' own markers (<!-- output: ... -->) stay comments; the Markdown is the repository's.
    const md = new MarkdownIt({ html: true, linkify: false });
    const seen = new Map<string, number>();
    md.core.ruler.push('anchors', (state) => {
      state.tokens.forEach((token, i) => {
        if (token.type !== 'heading_open') return;
        const base = slug(state.tokens[i + 1].content);
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        token.attrSet('id', n ? `${base}-${n}` : base);
      });
    });
    /** A link or picture of this page, for the site (null: no link). */
    const rewrite = (target: string, picture: boolean): string | null => {
      if (/^[a-z]+:/i.test(target)) return target; // https:, mailto:
      const [file, anchor] = target.split('#');
      const resolved = file ? normalize(join(dirname(path), file)) : path;
      const page = pageOf(resolved);
      if (page && !picture) return `#docs=${encodeURIComponent(anchor ? `${page}#${anchor}` : page)}`;
      const source = join(repo, resolved);
      if (resolved.startsWith('..') || !existsSync(source)) throw new Error(`${path}: the link ${target} leads to no file of the repository`);
      if (statSync(source).isDirectory()) return null;
      mkdirSync(dirname(join(out, resolved)), { recursive: true });
      cpSync(source, join(out, resolved));
      return `./${resolved}`;
    };
    md.core.ruler.push('site-links', (state) => {
      const walk = (tokens: typeof state.tokens) => {
        let unlinked = false; // links do not nest: a link made a span is closed as one
        for (const t of tokens) {
          if (t.children) walk(t.children);
          if (t.type === 'link_open') {
            const to = rewrite(String(t.attrGet('href') ?? ''), false);
            unlinked = to === null;
            if (unlinked) {
              t.attrs = [['title', `${t.attrGet('href')}: a directory of the repository`]];
              t.tag = 'span';
            } else t.attrSet('href', to!);
          } else if (t.type === 'link_close' && unlinked) {
            t.tag = 'span';
            unlinked = false;
          } else if (t.type === 'image') {
            t.attrSet('src', rewrite(String(t.attrGet('src') ?? ''), true) ?? '');
          }
        }
      };
      walk(state.tokens);
    });
    const html = md.render(text);
    writeFileSync(join(out, 'docs', `${name}.html`), html);
    const title = /^# (.+)$/m.exec(text)?.[1] ?? name;
    pages.push({ name, title: title.replace(/`/g, '') });
  }
  writeFileSync(join(out, 'docs', 'index.json'), JSON.stringify({ pages, api }, null, 2));
  return pages;
}
