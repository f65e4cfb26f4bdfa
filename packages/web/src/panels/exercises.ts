/** The exercises panel: a worked example or an exercise for a network the user chooses, filled in and graded in the page. */
import type { PanelState } from '../main.ts';

export function mount(root: HTMLElement, _state: PanelState): void {
  const p = document.createElement('p');
  p.textContent = 'Exercises are not written yet.';
  root.append(p);
}
