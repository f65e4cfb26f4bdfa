/**
 * What a test file imports from 'vitest' when it runs in a browser page (test/chromium.ts bundles
 * it there in vitest's place): `describe`, `it`, `it.each` and vitest's own `expect` (@vitest/expect
 * on chai, as vitest's browser mode uses it), and `run`, which runs the tests collected and reports
 * each one's name and error. Enough for the graph package's op and gradcheck tests; a test file
 * that needs more of vitest fails to bundle (a missing export), it is not silently skipped.
 */
import { ASYMMETRIC_MATCHERS_OBJECT, chai, GLOBAL_EXPECT, JestAsymmetricMatchers, JestChaiExpect, JestExtend, setState } from '@vitest/expect';

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(JestAsymmetricMatchers);

type Expect = typeof chai.expect & Record<string, unknown>;
export const expect = ((value: unknown, message?: string) => chai.expect(value, message)) as unknown as Expect;
Object.assign(expect, chai.expect, (globalThis as Record<PropertyKey, unknown>)[ASYMMETRIC_MATCHERS_OBJECT]);
(globalThis as Record<PropertyKey, unknown>)[GLOBAL_EXPECT] = expect;
setState({ assertionCalls: 0, isExpectingAssertions: false, expectedAssertionsNumber: null }, expect as never);

const tests: { name: string; fn: () => unknown }[] = [];
const path: string[] = [];

/** vitest's names for `each`: %s %d %i %j %o take the case's values in order, $key a property of an object case. */
function title(template: string, c: unknown): string {
  const values = Array.isArray(c) ? [...c] : [c];
  return template
    .replace(/%[sdijo]/g, () => {
      const v = values.shift();
      return typeof v === 'string' ? v : JSON.stringify(v);
    })
    .replace(/\$([\w.]+)/g, (whole, key: string) => (c !== null && typeof c === 'object' && key in c ? String((c as Record<string, unknown>)[key]) : whole));
}

export function describe(name: string, body: () => void): void {
  path.push(name);
  try {
    body();
  } finally {
    path.pop();
  }
}
describe.each = (cases: readonly unknown[]) => (name: string, body: (...args: never[]) => void) => {
  for (const c of cases) describe(title(name, c), () => body(...((Array.isArray(c) ? c : [c]) as never[])));
};

export function it(name: string, fn: () => unknown): void {
  tests.push({ name: [...path, name].join(' > '), fn });
}
it.each = (cases: readonly unknown[]) => (name: string, fn: (...args: never[]) => unknown) => {
  for (const c of cases) it(title(name, c), () => fn(...((Array.isArray(c) ? c : [c]) as never[])));
};
export const test = it;

/** Runs every test collected, in order: each one's name, and its error (message and stack) if it failed. */
export async function run(): Promise<{ name: string; error?: string }[]> {
  const results: { name: string; error?: string }[] = [];
  for (const { name, fn } of tests) {
    try {
      await fn();
      results.push({ name });
    } catch (e) {
      results.push({ name, error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) });
    }
  }
  return results;
}
