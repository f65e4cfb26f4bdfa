/**
 * The site's page shell: a nav of panels and the URL hash that holds the page's state.
 *
 * The panel interface (to add a panel, write its module and add one line to `panels` below):
 * - `src/panels/<name>.ts` exports `mount(root: HTMLElement, state: PanelState)`, which fills `root`
 *   (an empty element the shell owns) and may return (or resolve to) a function the shell calls when
 *   the user leaves the panel (stop a worker, drop listeners on window).
 * - The panel's state is one string in the URL: `index.html#<name>=<encodeURIComponent(value)>`.
 *   `state.value` is it when the panel is mounted ('' if none); `state.set(value)` replaces it in the
 *   URL as the user works (history.replaceState: no reload, no history entry), so the address is a
 *   link that restores the panel. Several fields go into one value as a query string
 *   (`new URLSearchParams({ layers: '2,2,2' }).toString()`).
 * - A link to another panel is an ordinary `<a href="#name=...">`; the shell mounts it on hashchange.
 * - Panels load on demand (esbuild code splitting), so a heavy panel costs nothing until it is shown.
 *   A Web Worker's module is added to `workers` in scripts/build.ts.
 * - In the browser tests (test/web/), a panel is done when `root` has `data-ready` set by the shell
 *   after `mount` resolves; errors go to the console and fail the tests.
 */
export interface PanelState {
  /** The panel's state from the URL ('' if none). */
  readonly value: string;
  /** Records a new state in the URL. */
  set(value: string): void;
}

export type Unmount = () => void;
export interface Panel {
  /** Returns (or resolves to) an `Unmount`, or nothing. */
  mount(root: HTMLElement, state: PanelState): unknown;
}

/** The panels, in the nav's order: name (in the URL), title (in the nav), module. */
const panels: { name: string; title: string; load: () => Promise<Panel> }[] = [
  { name: 'check', title: 'Check a derivation', load: () => import('./panels/check.ts') },
  { name: 'exercises', title: 'Examples and exercises', load: () => import('./panels/exercises.ts') },
  { name: 'backward', title: 'One backward pass', load: () => import('./panels/backward.ts') },
  { name: 'train', title: 'Train on MNIST', load: () => import('./panels/train.ts') },
  { name: 'draw', title: 'Draw a digit', load: () => import('./panels/draw.ts') },
  { name: 'docs', title: 'Docs', load: () => import('./panels/docs.ts') },
];

/** `#name=value` -> { name, value }; an unknown or missing name is the first panel. */
export function parseHash(hash: string): { name: string; value: string | undefined } {
  const text = hash.replace(/^#/, '');
  const eq = text.indexOf('=');
  const name = eq < 0 ? text : text.slice(0, eq);
  let value: string | undefined;
  try {
    value = eq < 0 ? undefined : decodeURIComponent(text.slice(eq + 1));
  } catch {
    value = text.slice(eq + 1); // a hand-typed '%' that is no escape: take it as written
  }
  return panels.some((p) => p.name === name) ? { name, value } : { name: panels[0].name, value: undefined };
}

const hashOf = (name: string, value: string) => `#${name}${value === '' ? '' : `=${encodeURIComponent(value)}`}`;

/** What each panel last held, so that the nav returns to it. */
const last = new Map<string, string>();
let unmount: Unmount | undefined;
let shown = 0; // the number of the mount in progress: a later one wins

async function show(): Promise<void> {
  const { name, value: given } = parseHash(location.hash);
  const value = given ?? last.get(name) ?? '';
  last.set(name, value);
  const mine = ++shown;
  unmount?.();
  unmount = undefined;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('#nav a')) {
    if (a.dataset.panel === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
    a.href = hashOf(a.dataset.panel!, last.get(a.dataset.panel!) ?? '');
  }
  const main = document.getElementById('panel')!;
  const root = document.createElement('div');
  root.className = `panel panel-${name}`;
  main.replaceChildren(root);
  const panel = panels.find((p) => p.name === name)!;
  document.title = `${panel.title} - backprop`;
  const state: PanelState = {
    value,
    set(v: string) {
      last.set(name, v);
      if (mine !== shown) return;
      history.replaceState(null, '', hashOf(name, v));
      document.querySelector<HTMLAnchorElement>(`#nav a[data-panel="${name}"]`)!.href = hashOf(name, v);
    },
  };
  const mounted = await (await panel.load()).mount(root, state);
  const done = typeof mounted === 'function' ? (mounted as Unmount) : undefined;
  if (mine !== shown) return done?.();
  unmount = done;
  root.dataset.ready = 'true';
}

function start(): void {
  const nav = document.getElementById('nav')!;
  for (const p of panels) {
    const a = document.createElement('a');
    a.textContent = p.title;
    a.dataset.panel = p.name;
    a.href = `#${p.name}`;
    nav.append(a);
  }
  const run = () =>
    show().catch((e: unknown) => {
      console.error(e);
      const main = document.getElementById('panel')!;
      const p = document.createElement('p');
      p.className = 'error';
      p.textContent = `this panel failed: ${(e as Error).message}`;
      main.replaceChildren(p);
    });
  window.addEventListener('hashchange', run);
  void run();
}

start();
