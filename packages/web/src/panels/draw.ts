/** A placeholder for the draw panel (w2 writes it): the shell's interface is described in src/main.ts. */
import type { PanelState } from '../main.ts';

export function mount(root: HTMLElement, _state: PanelState): void {
  const p = document.createElement('p');
  p.textContent = 'This panel is not written yet.';
  root.append(p);
}
