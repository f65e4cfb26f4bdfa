/**
 * Judging an experiment's stated findings ("ELU has the best performance", "deeper networks end up
 * performing better") on its runs. At one seed, as the paper did: the finding holds or not on that
 * seed's numbers. Over several seeds, each comparison the finding makes (a > b on final accuracy)
 * must hold for the means, and a one-sided paired t-test over the seeds must support it at
 * p < ALPHA: then it is reproduced; if the means contradict it, not reproduced; otherwise not
 * decided at N seeds. A finding of several comparisons (best of four, increasing over three)
 * needs every one of them (an intersection-union test: each at ALPHA keeps the whole at ALPHA).
 */
import { pct } from '../format.ts';
import type { Experiment, Finding } from './define.ts';
import { last, type RunData, type RunGroup } from './runs.ts';
import { equivalenceTest, mean, pairedTTest, sd } from './stats.ts';

/** The significance level of every test. */
export const ALPHA = 0.05;

export interface FindingResult {
  text: string;
  verdict: string;
  detail: string;
}

const notDecided = (n: number) => `not decided at ${n} seeds`;
const pending = (d: RunData) => d.status === 'pending' || d.status === 'partial';
const pm = (xs: number[]) => `${pct(mean(xs))} ± ${(100 * sd(xs)).toFixed(2)}`;
const p = (x: number) => (x < 0.001 ? 'p < 0.001' : `p = ${x.toFixed(3)}`);

export function judgeFinding(f: Finding, byId: Map<string, RunGroup>, paper: Experiment['paper'] = {}): FindingResult {
  const groups = f.runs.map((id) => byId.get(id)!);
  if (groups.some((g) => g.runs.some(pending))) return { text: f.text, verdict: 'not yet run', detail: '' };
  const split = f.split ?? 'test';
  // A diverged run classifies nothing: its accuracy counts as 0.
  const acc = (d: RunData) => (d.status === 'diverged' ? 0 : (last(d)?.[split] ?? 0));
  switch (f.type) {
    case 'explodes':
      return explodes(f, groups[0]);
    case 'close':
      return close(f, groups[0], paper[groups[0].id], f.tolerance ?? 0.005);
    case 'best':
      return compare(
        f,
        split,
        groups,
        groups.slice(1).map((g) => [groups[0], g]),
        acc,
      );
    case 'worst':
      return compare(
        f,
        split,
        groups,
        groups.slice(1).map((g) => [g, groups[0]]),
        acc,
      );
    case 'order':
      return compare(f, split, groups, [[groups[0], groups[1]]], acc);
    case 'increasing':
      return compare(
        f,
        split,
        groups,
        groups.slice(1).map((g, i) => [g, groups[i]]),
        acc,
      );
  }
}

/** A finding that claims `better` > `worse` on final accuracy, for every pair. */
function compare(f: Finding, split: string, groups: RunGroup[], pairs: [RunGroup, RunGroup][], acc: (d: RunData) => number): FindingResult {
  const n = groups[0].runs.length,
    values = (g: RunGroup) => g.runs.map(acc);
  const holds = pairs.every(([a, b]) => mean(values(a)) > mean(values(b)));
  if (n === 1) {
    const shown = groups.map((g) => `${g.label} ${g.runs[0].status === 'diverged' ? 'diverged' : pct(acc(g.runs[0]))}`).join(', ');
    return { text: f.text, verdict: holds ? 'reproduced' : 'not reproduced', detail: `${split}: ${shown}` };
  }
  const tests = pairs.map(([a, b]) => ({ a, b, p: pairedTTest(values(a), values(b)).p }));
  const verdict = !holds ? 'not reproduced' : tests.every((t) => t.p < ALPHA) ? 'reproduced' : notDecided(n);
  const shown = groups.map((g) => `${g.label} ${pm(values(g))}`).join(', ');
  const tested = tests.map((t) => `${t.a.label} > ${t.b.label} ${p(t.p)}`).join(', ');
  return { text: f.text, verdict, detail: `${split}, mean ± sd over ${n} seeds: ${shown}; one-sided paired t-test: ${tested}` };
}

/**
 * A loss that explodes: at one seed, the run diverged or its iteration loss peaked above 10 times
 * its first. It is an event a seed has or has not, not a difference of accuracies: over seeds it
 * is reproduced when every seed shows it, not reproduced when none does.
 */
function explodes(f: Finding, g: RunGroup): FindingResult {
  const seen = g.runs.map((d) => {
    const first = d.losses[0] ?? 0,
      peak = d.losses.reduce((a, b) => Math.max(a, b), 0);
    return {
      d,
      yes: d.status === 'diverged' || peak > 10 * first,
      shown: d.status === 'diverged' ? 'diverged' : `peak iteration loss ${peak.toFixed(1)}, first ${first.toFixed(1)}`,
    };
  });
  const k = seen.filter((s) => s.yes).length,
    n = seen.length;
  if (n === 1) return { text: f.text, verdict: k ? 'reproduced' : 'not reproduced', detail: seen[0].shown };
  const verdict = k === n ? 'reproduced' : k === 0 ? 'not reproduced' : notDecided(n);
  return { text: f.text, verdict, detail: `at ${k} of ${n} seeds: ${seen.map((s) => `seed ${s.d.run.seed} ${s.shown}`).join('; ')}` };
}

/** Final accuracies within `tolerance` of the paper's, train and test; over seeds, by two one-sided t-tests (TOST) for each. */
function close(f: Finding, g: RunGroup, paper: { train: number; test: number } | undefined, tolerance: number): FindingResult {
  const finals = g.runs.map(last);
  if (!paper || finals.some((e) => !e)) return { text: f.text, verdict: 'not reproduced', detail: '' };
  const train = finals.map((e) => e!.train),
    test = finals.map((e) => e!.test),
    n = g.runs.length;
  const within = Math.abs(mean(train) - paper.train) <= tolerance && Math.abs(mean(test) - paper.test) <= tolerance;
  if (n === 1) return { text: f.text, verdict: within ? 'reproduced' : 'not reproduced', detail: `ours ${pct(train[0])} train, ${pct(test[0])} test` };
  const pTrain = equivalenceTest(train, paper.train, tolerance).p,
    pTest = equivalenceTest(test, paper.test, tolerance).p;
  const verdict = !within ? 'not reproduced' : pTrain < ALPHA && pTest < ALPHA ? 'reproduced' : notDecided(n);
  return {
    text: f.text,
    verdict,
    detail: `ours ${pm(train)} train, ${pm(test)} test over ${n} seeds; two one-sided t-tests: train ${p(pTrain)}, test ${p(pTest)}`,
  };
}
