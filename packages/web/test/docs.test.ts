// The site's rendering of the guides (scripts/docs.ts), on a small repository of its own: links to
// pages become #docs= links at GitHub's heading anchors, files are copied and linked, a directory
// is left unlinked, and a link to nothing stops the build.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDocs } from '../scripts/docs.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function repo(readme: string, guide: string): { repo: string; out: string } {
  const repo = mkdtempSync(join(tmpdir(), 'docs-repo-'));
  const out = mkdtempSync(join(tmpdir(), 'docs-out-'));
  dirs.push(repo, out);
  mkdirSync(join(repo, 'docs'));
  mkdirSync(join(repo, 'examples', 'models'), { recursive: true });
  writeFileSync(join(repo, 'examples', 'a.txt'), 'x = 1\n');
  writeFileSync(join(repo, 'docs', 'pic.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(repo, 'README.md'), readme);
  writeFileSync(join(repo, 'docs', 'guide.md'), guide);
  return { repo, out };
}

describe('the docs of the site', () => {
  it('keeps the links between pages, at their headings, and serves the files they link to', () => {
    const { repo: r, out } = repo(
      '# Front\n\n[the guide](docs/guide.md), [its options](docs/guide.md#the-flags---a---b), [an example](examples/a.txt), [models](examples/models)\n\n<!-- a marker -->\n',
      '# The guide\n\n## The flags: `--a`, `--b`\n\n## Again\n\n## Again\n\n[back](../README.md#front) and [here](#again-1)\n\n![a picture](pic.svg)\n',
    );
    const pages = buildDocs(r, out, false);
    expect(pages).toEqual([
      { name: 'README', title: 'Front' },
      { name: 'guide', title: 'The guide' },
    ]);
    const front = readFileSync(join(out, 'docs', 'README.html'), 'utf8');
    expect(front).toContain('<a href="#docs=guide">the guide</a>');
    expect(front).toContain('<a href="#docs=guide%23the-flags---a---b">its options</a>');
    expect(front).toContain('<a href="./examples/a.txt">an example</a>');
    expect(front).toContain('<span title="examples/models: a directory of the repository">models</span>');
    expect(front).toContain('<!-- a marker -->');
    expect(readFileSync(join(out, 'examples', 'a.txt'), 'utf8')).toBe('x = 1\n');
    const guide = readFileSync(join(out, 'docs', 'guide.html'), 'utf8');
    expect(guide).toContain('<h2 id="the-flags---a---b">The flags: <code>--a</code>, <code>--b</code></h2>');
    expect(guide).toContain('<h2 id="again">Again</h2>\n<h2 id="again-1">Again</h2>');
    expect(guide).toContain('<a href="#docs=README%23front">back</a> and <a href="#docs=guide%23again-1">here</a>');
    expect(guide).toContain('<img src="./docs/pic.svg" alt="a picture">');
    expect(existsSync(join(out, 'docs', 'pic.svg'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'docs', 'index.json'), 'utf8'))).toEqual({ pages, api: false });
  });

  it('stops at a link to no file, naming the page and the link', () => {
    const { repo: r, out } = repo('# Front\n\n[gone](examples/gone.txt)\n', '# The guide\n');
    expect(() => buildDocs(r, out, false)).toThrow('README.md: the link examples/gone.txt leads to no file of the repository');
  });
});
