/** The docs panel: the repository's docs/*.md, rendered at build time (scripts/build.ts), with the API reference. */
import type { PanelState } from '../main.ts';

export function mount(root: HTMLElement, _state: PanelState): void {
  const p = document.createElement('p');
  p.textContent = 'The docs are not built yet.';
  root.append(p);
}
