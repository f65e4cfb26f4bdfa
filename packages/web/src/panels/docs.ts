/**
 * The docs panel: the repository's README and guides (docs/*.md), rendered at build time
 * (scripts/docs.ts), their links to each other kept (`#docs=cli%23backprop-check-file` opens a
 * page at a heading), and the API reference (typedoc) beside them. The state is `page` or `page#heading`.
 */
import type { PanelState } from '../main.ts';
import { el } from '../ui.ts';

export async function mount(root: HTMLElement, state: PanelState): Promise<void> {
  const { pages, api }: { pages: { name: string; title: string }[]; api: boolean } = await (await fetch('./docs/index.json')).json();
  const [asked, heading] = state.value.split('#');
  const name = pages.some((p) => p.name === asked) ? asked : 'README';
  const list = el(
    'ul',
    {},
    pages.map((p) =>
      el('li', {}, [el('a', { href: `#docs=${encodeURIComponent(p.name)}`, ...(p.name === name ? { 'aria-current': 'page' } : {}) }, [p.title])]),
    ),
  );
  if (api) list.append(el('li', {}, [el('a', { href: './api/index.html', id: 'api-reference' }, ['API reference (typedoc)'])]));
  const article = el('article', { class: 'doc' });
  root.append(el('div', { class: 'docs' }, [el('nav', { 'aria-label': 'guides', class: 'doc-pages' }, [list]), article]));
  const response = await fetch(`./docs/${name}.html`);
  // The page is our own build's rendering of the repository's own Markdown.
  article.innerHTML = await response.text();
  // A wide code block scrolls: the keyboard reaches it (Tab, then the arrow keys).
  for (const pre of article.querySelectorAll('pre')) pre.tabIndex = 0;
  const target = heading ? article.querySelector(`#${CSS.escape(heading)}`) : null;
  if (target) target.scrollIntoView();
  else if (heading) article.prepend(el('p', { class: 'error' }, [`${pages.find((p) => p.name === name)!.title} has no heading #${heading}`]));
}
