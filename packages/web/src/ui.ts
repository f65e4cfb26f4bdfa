/** Small DOM helpers the panels share. */
import type { Verdict } from '@backprop/mlp/check';

/** An element with attributes and children (strings become text: nothing is parsed as HTML). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  children: (Node | string)[] = [],
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** A verdict in words, as beside its line: `ok`, `wrong: should be 0.657`, `blank: 0.657`. */
export function verdictText(v: Verdict): string {
  switch (v.verdict) {
    case 'ok':
      return v.truncated ? 'ok (truncated)' : 'ok';
    case 'blank':
      return `blank: ${v.computed}`;
    case 'undecided':
      return `cannot decide${v.note ? `: ${v.note.replace(/^cannot decide: /, '')}` : ''}`;
    default:
      return v.note ? `${v.verdict}: ${v.note}` : v.verdict;
  }
}
