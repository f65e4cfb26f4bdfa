/**
 * Scalar lines evaluated where float64 cannot hold them: a number m * 2^e with float64's 53-bit
 * mantissa m and an unbounded exponent e, so that log(sigmoid(-800)) is -800 (not log(0)),
 * exp(-800) / exp(-800) is 1 (not 0/0) and sqrt(x^4 * 1e300) at x = 800 is 6.4e155 (not
 * sqrt(Infinity)). The checker uses this value, and the float64 one only where the two agree:
 * any step whose value lies outside [2^-1000, 2^1000] (where float64 overflows, or has lost or is
 * about to lose digits) marks the line as one float64 cannot evaluate.
 *
 * Precision is float64's (about 16 digits): exp(x) loses about log10|x| more. Matrices and
 * derivatives are float64's; a derivative through a line float64 cannot evaluate is undecided.
 */
import type { Node } from './parse.ts';
import type { Rational } from './exact.ts';

/** m * 2^e, m = 0 or 0.5 <= |m| < 1; e an integer. */
export interface Wide {
  m: number;
  e: number;
}

const ZERO: Wide = { m: 0, e: 0 };
/** e^x for x below -2^40: positive, but too small even for this exponent; 0 where it is only added or multiplied. */
const UNDER: Wide = { m: 0, e: 0 };
/** Exponents past this are not worth carrying (exp of more than ~1e15): the line is undecided. */
const MAX_E = 2 ** 50;
/** Outside [2^-LIMIT, 2^LIMIT] float64 is near or past its range. */
const LIMIT = 1000;

/** x as m * 2^e (frexp). */
function norm(m: number, e: number): Wide | null {
  if (!Number.isFinite(m) || !Number.isFinite(e)) return null;
  if (m === 0) return ZERO;
  const k = Math.floor(Math.log2(Math.abs(m))) + 1;
  let mm = m * 2 ** -k,
    ee = e + k;
  // log2 may be off by one near powers of two.
  if (Math.abs(mm) >= 1) (mm /= 2), ee++;
  else if (Math.abs(mm) < 0.5) (mm *= 2), ee--;
  return Math.abs(ee) > MAX_E ? null : { m: mm, e: ee };
}

export const fromNumber = (x: number): Wide | null => norm(x, 0);

/** The double nearest w: Infinity or 0 past float64's range. */
export function toNumber(w: Wide): number {
  if (w.e > 1100) return w.m > 0 ? Infinity : -Infinity;
  if (w.e < -1100) return 0;
  // Two steps, so that 2^e alone never overflows while m * 2^e does not.
  const half = Math.trunc(w.e / 2);
  return w.m * 2 ** half * 2 ** (w.e - half);
}

/** The exact value of w as a fraction (every Wide is a dyadic rational). */
export function toRational(w: Wide): Rational {
  // m has at most 53 significant bits: m * 2^53 is an integer.
  const n = BigInt(w.m * 2 ** 53),
    p = w.e - 53;
  return p >= 0 ? { n: n << BigInt(p), d: 1n } : { n, d: 1n << BigInt(-p) };
}

const mul = (a: Wide, b: Wide) => norm(a.m * b.m, a.e + b.e);
const div = (a: Wide, b: Wide) => (b.m === 0 ? null : norm(a.m / b.m, a.e - b.e));
function add(a: Wide, b: Wide): Wide | null {
  if (a.m === 0) return b;
  if (b.m === 0) return a;
  const [big, small] = a.e >= b.e ? [a, b] : [b, a];
  if (big.e - small.e > 110) return big; // below the last bit of big
  return norm(big.m + small.m * 2 ** (small.e - big.e), big.e);
}
const neg = (a: Wide): Wide => ({ m: -a.m, e: a.e });

/** |a - b| <= max(unit, tol |b|): do a step and the line's value agree (to what the claim's digits and a slack allow)? */
export function agrees(a: Wide, b: Wide, unit: number, tol: number): boolean {
  const d = add(a, neg(b));
  if (!d) return false;
  if (Math.abs(toNumber(d)) <= unit) return true;
  const r = div(d, b);
  return !!r && Math.abs(toNumber(r)) <= tol;
}
const sign = (a: Wide) => Math.sign(a.m);
/** Sign of a - b. */
const cmp = (a: Wide, b: Wide) => sign(add(a, neg(b)) ?? ZERO);

// biome-ignore lint/correctness/noPrecisionLoss: fdlibm's constants as fdlibm writes them (each is the double it names)
const LN2_HI = 6.9314718036912381649e-1; // fdlibm's split of ln 2
// biome-ignore lint/correctness/noPrecisionLoss: as above
const LN2_LO = 1.90821492927058770002e-10;

function exp(a: Wide): Wide | null {
  const x = toNumber(a);
  if (Math.abs(x) < 2 ** -60) return fromNumber(1 + x);
  if (x < -(2 ** 40)) return UNDER;
  if (x > 2 ** 40) return null; // 2^(1.4 * 2^40): not a number for a hand calculation
  // exp(x) = 2^k exp(r) with r = x - k ln 2 reduced carefully (k ln2_hi is exact for |k| < 2^21; past that a few digits go).
  const k = Math.round(x / Math.LN2);
  const r = x - k * LN2_HI - k * LN2_LO;
  return norm(Math.exp(r), k);
}

function log(a: Wide): Wide | null {
  if (a.m <= 0) return null;
  return fromNumber(Math.log(a.m) + a.e * Math.LN2);
}

function sqrt(a: Wide): Wide | null {
  if (a.m < 0) return null;
  if (a.m === 0) return ZERO;
  const odd = ((a.e % 2) + 2) % 2;
  return norm(Math.sqrt(a.m * 2 ** odd), (a.e - odd) / 2);
}

function sigmoid(a: Wide): Wide | null {
  // 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) for x < 0: no exp overflows.
  const one = fromNumber(1)!;
  let t = exp(sign(a) >= 0 ? neg(a) : a);
  if (t === UNDER) {
    if (sign(a) < 0) return UNDER; // e^x / (1 + e^x) is e^x there
    t = ZERO; // 1 / (1 + e^-x): e^-x is far below float64's last bit of 1
  }
  const d = t && add(one, t);
  return d && (sign(a) >= 0 ? div(one, d) : div(t!, d));
}

/** tanh, and elu's e^x - 1, are x itself (to float64's precision) for tiny x, and bounded otherwise. */
const tiny = (a: Wide) => a.m === 0 || a.e < -60;

function power(base: Wide, k: number): Wide | null {
  if (Number.isInteger(k) && Math.abs(k) <= 2 ** 20) {
    let acc: Wide | null = fromNumber(1),
      b: Wide | null = base;
    for (let n = Math.abs(k); n > 0 && acc && b; n = Math.floor(n / 2)) {
      if (n % 2) acc = mul(acc, b);
      if (n > 1) b = mul(b, b);
    }
    return acc && (k < 0 ? div(fromNumber(1)!, acc) : acc);
  }
  if (base.m === 0) return k > 0 ? ZERO : null;
  const l = log(base);
  return l && exp(mul(l, fromNumber(k)!) ?? ZERO);
}

export interface WideResult {
  value: Wide | null;
  /** Some step's value lies outside [2^-1000, 2^1000]: float64 cannot be trusted with this line. */
  outOfRange: boolean;
}

/**
 * A scalar expression in wide arithmetic; `name` and `deriv` give the inputs' values (null: not
 * available, as for a matrix). The value is null where this arithmetic has none (a matrix, log of
 * a negative number, an exponent past 2^50).
 */
export function wideValue(node: Node, name: (n: string) => Wide | null, deriv: (of: string, wrt: string, wrt2?: string) => Wide | null): WideResult {
  let outOfRange = false;
  const check = (w: Wide | null) => {
    // UNDER is out of range too: a division by it, or its log, has no value here, and the line is undecided.
    if (w === UNDER || (w && w.m !== 0 && (w.e > LIMIT || w.e < -LIMIT))) outOfRange = true;
    return w;
  };
  // A step that has no value here although its arguments have: past float64 (and this arithmetic's) range.
  const range = (w: Wide | null, ...args: (Wide | null)[]) => {
    if (!w && args.every(Boolean)) outOfRange = true;
    return check(w);
  };
  const ev = (n: Node): Wide | null => {
    switch (n.kind) {
      case 'num':
        return fromNumber(n.value);
      case 'name':
        return check(name(n.name));
      case 'deriv':
        return check(deriv(n.of, n.wrt, n.wrt2));
      case 'neg': {
        const a = ev(n.arg);
        return a && neg(a);
      }
      case 'chain': {
        let acc = ev(n.first);
        for (const { op, arg } of n.rest) {
          const b = acc && op !== '@' ? ev(arg) : null;
          if (!acc || !b) return null;
          if (op === '/' && b.m === 0) return null; // division by zero: no number, in any range
          acc = range(op === '+' ? add(acc, b) : op === '-' ? add(acc, neg(b)) : op === '*' ? mul(acc, b) : div(acc, b), acc, b);
        }
        return acc;
      }
      case 'power': {
        const a = ev(n.base),
          k = ev(n.exponent);
        if (!a || !k) return null;
        const p = power(a, toNumber(k));
        return sign(a) > 0 ? range(p, a, k) : check(p); // a negative base may have no real power
      }
      case 'call': {
        const args = n.args.map(ev);
        if (args.some((a) => !a)) return null;
        const [x, y] = args as Wide[];
        switch (n.fn) {
          case 'exp':
            return range(exp(x), x);
          case 'log':
            return check(log(x)); // null only for x <= 0: no real logarithm
          case 'sqrt':
            return check(sqrt(x));
          case 'sigmoid':
            return range(sigmoid(x), x);
          case 'tanh':
            return check(tiny(x) ? x : fromNumber(Math.tanh(toNumber(x))));
          case 'elu':
            return check(sign(x) > 0 || tiny(x) ? x : fromNumber(Math.expm1(toNumber(x))));
          case 'relu':
            return sign(x) > 0 ? x : ZERO;
          case 'abs':
            return sign(x) < 0 ? neg(x) : x;
          case 'max':
            return cmp(x, y) >= 0 ? x : y;
          case 'min':
            return cmp(x, y) <= 0 ? x : y;
        }
        return null; // sum, mean, softmax, T: matrices
      }
      case 'matrix':
        return null;
    }
  };
  const value = ev(node);
  return { value, outOfRange };
}

/** w in decimal, 8 significant digits, also past float64's range (1.2345678e-400). */
export function formatWide(w: Wide): string {
  const x = toNumber(w);
  if (w.m === 0 || (Number.isFinite(x) && Math.abs(x) >= 2 ** -1022)) return String(Number(x.toPrecision(8))).replace('e+', 'e');
  const l = Math.log10(Math.abs(w.m)) + w.e * Math.log10(2);
  let k = Math.floor(l),
    mant = 10 ** (l - k);
  if (Number(mant.toPrecision(8)) >= 10) (mant /= 10), k++;
  return `${w.m < 0 ? '-' : ''}${Number(mant.toPrecision(8))}e${k}`;
}
