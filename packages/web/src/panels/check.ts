/** The check panel: a derivation in `backprop check`'s format, each line's verdict beside it as you type. */
import type { PanelState } from '../main.ts';

export function mount(root: HTMLElement, state: PanelState): void {
  const label = document.createElement('label');
  label.textContent = 'Derivation';
  label.htmlFor = 'derivation';
  const editor = document.createElement('textarea');
  editor.id = 'derivation';
  editor.rows = 20;
  editor.cols = 80;
  editor.spellcheck = false;
  editor.value = state.value;
  editor.addEventListener('input', () => state.set(editor.value));
  root.append(label, editor);
}
