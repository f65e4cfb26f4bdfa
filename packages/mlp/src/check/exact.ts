/**
 * Exact decimal reasoning for claims. A claim such as 0.65 or 1.2e-3 is a decimal with a last
 * written digit; whether it is the value rounded or truncated to that digit is decided on exact
 * rationals (BigInt), never on binary doubles: 0.35 * 2 is 0.6999999999999999556 in float64, and
 * truncated to one decimal that would be 0.6.
 *
 * Where a line uses only + - * /, integer powers, abs, max, min and relu of exact numbers, its
 * value is computed exactly here. Elsewhere (sigmoid, derivatives, matrices) the float64 value is
 * used, and a value within float64's error of a rounding boundary is taken to be on it.
 */
import type { Node } from './parse.ts';

/** n / d with d > 0, in lowest terms. */
export interface Rational {
  n: bigint;
  d: bigint;
}

/** Exact values bigger than this (in bits) are left to float64: no hand calculation needs them. */
const MAX_BITS = 1024;

const abs = (x: bigint) => (x < 0n ? -x : x);
const gcd = (a: bigint, b: bigint) => {
  a = abs(a);
  b = abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
};
const bits = (x: bigint) => abs(x).toString(16).length * 4;

/**
 * A literal may be a little bigger: 17 significant digits of a number near float64's smallest normal
 * (2.2250738585072014e-308) need 10^324, 1,077 bits.
 */
const LITERAL_BITS = 1100;

/** n / d reduced, or null when it is too big to be worth carrying (or d is 0). */
export function rational(n: bigint, d: bigint, maxBits = MAX_BITS): Rational | null {
  if (d === 0n) return null;
  if (d < 0n) [n, d] = [-n, -d];
  if (bits(n) > 4 * maxBits || bits(d) > 4 * maxBits) return null;
  const g = gcd(n, d) || 1n;
  n /= g;
  d /= g;
  return bits(n) > maxBits || bits(d) > maxBits ? null : { n, d };
}

export const add = (a: Rational, b: Rational) => rational(a.n * b.d + b.n * a.d, a.d * b.d);
export const sub = (a: Rational, b: Rational) => rational(a.n * b.d - b.n * a.d, a.d * b.d);
export const mul = (a: Rational, b: Rational) => rational(a.n * b.n, a.d * b.d);
export const div = (a: Rational, b: Rational) => rational(a.n * b.d, a.d * b.n);
/** Sign of a - b. */
export const cmp = (a: Rational, b: Rational) => {
  const x = a.n * b.d - b.n * a.d;
  return x > 0n ? 1 : x < 0n ? -1 : 0;
};
const neg = (a: Rational): Rational => ({ n: -a.n, d: a.d });
const absR = (a: Rational): Rational => ({ n: abs(a.n), d: a.d });
const ZERO: Rational = { n: 0n, d: 1n };

/** The parser refuses literals whose last digit is further out: float64 tells nothing apart there. */
export const MAX_EXPONENT = 400;

/** A number as written, exactly, and the exponent of its last written digit (0.6570 -> -4, 1.2e-3 -> -4, 99 -> 0). */
export function decimal(text: string): { value: Rational; last: number } | null {
  const m = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return null;
  const frac = m[2] ?? '';
  const last = Number(m[3] ?? 0) - frac.length;
  if (Math.abs(last) > MAX_EXPONENT) return null;
  const digits = BigInt((m[1] ?? '') + frac || '0');
  const value = last >= 0 ? rational(digits * 10n ** BigInt(last), 1n, LITERAL_BITS) : rational(digits, 10n ** BigInt(-last), LITERAL_BITS);
  return value && { value, last };
}

/** The double nearest a rational (to within a unit in the last place: for display only). */
export const toNumber = (r: Rational) => {
  const shift = Math.max(0, Math.max(bits(r.n), bits(r.d)) - 1000); // BigInt to Number overflows past 2^1024
  return Number(r.n >> BigInt(shift)) / Number(r.d >> BigInt(shift));
};

/** A double's exact value (every finite double is a dyadic rational). */
export function fromDouble(x: number): Rational {
  if (x === 0) return ZERO;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0),
    lo = view.getUint32(4);
  const sign = hi >>> 31 ? -1n : 1n;
  const e = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (e !== 0) m |= 1n << 52n; // normal numbers have an implicit leading 1
  const p = (e === 0 ? 1 : e) - 1075; // x = m * 2^p
  const { n, d } = p >= 0 ? { n: m << BigInt(p), d: 1n } : { n: m, d: 1n << BigInt(-p) };
  const g = gcd(n, d);
  return { n: (sign * n) / g, d: d / g };
}

/**
 * The exact value of a scalar expression, or null when it is not exactly computable here
 * (a function other than abs/max/min/relu, a matrix, a non-integer power, or too big; a derivative
 * only through `deriv`, which gives a claimed one as written).
 */
export function exactValue(
  node: Node,
  name: (n: string) => Rational | null,
  deriv?: (of: string, wrt: string, wrt2?: string) => Rational | null,
): Rational | null {
  const ev = (n: Node) => exactValue(n, name, deriv);
  switch (node.kind) {
    case 'num':
      return decimal(node.text)?.value ?? null;
    case 'name':
      return name(node.name);
    case 'deriv':
      return deriv?.(node.of, node.wrt, node.wrt2) ?? null;
    case 'neg': {
      const a = ev(node.arg);
      return a && neg(a);
    }
    case 'chain': {
      let acc = ev(node.first);
      for (const { op, arg } of node.rest) {
        const b = acc && op !== '@' ? ev(arg) : null;
        if (!acc || !b) return null;
        acc = op === '+' ? add(acc, b) : op === '-' ? sub(acc, b) : op === '*' ? mul(acc, b) : div(acc, b);
      }
      return acc;
    }
    case 'power': {
      const base = ev(node.base),
        k = ev(node.exponent);
      if (!base || !k || k.d !== 1n || abs(k.n) > 64n || Math.max(bits(base.n), bits(base.d)) * Number(abs(k.n)) > 4 * MAX_BITS) return null;
      const p = rational(base.n ** abs(k.n), base.d ** abs(k.n));
      return p && (k.n < 0n ? div({ n: 1n, d: 1n }, p) : p);
    }
    case 'call': {
      const args = node.args.map(ev);
      if (args.some((a) => !a)) return null;
      const [x, y] = args as Rational[];
      if (node.fn === 'abs') return absR(x);
      if (node.fn === 'relu') return cmp(x, ZERO) > 0 ? x : ZERO;
      if (node.fn === 'max') return cmp(x, y) >= 0 ? x : y;
      if (node.fn === 'min') return cmp(x, y) <= 0 ? x : y;
      return null;
    }
    default:
      return null;
  }
}

export type Fit = 'rounded' | 'truncated' | null;

/**
 * Is `claim` (last written digit 10^last) the value rounded to that digit (|value - claim| <= half a
 * unit; a value exactly half-way may go either way), or else truncated to it (toward zero)?
 */
export function fit(value: Rational, claim: Rational, last: number): Fit {
  const unit = last >= 0 ? { n: 10n ** BigInt(last), d: 1n } : { n: 1n, d: 10n ** BigInt(-last) };
  // Differences of reduced rationals stay exact; nothing here is capped.
  const diff = { n: value.n * claim.d - claim.n * value.d, d: value.d * claim.d };
  if (abs(2n * diff.n) * unit.d <= unit.n * diff.d) return 'rounded';
  // Truncated: value lies in [claim, claim + unit) away from zero, on the claim's side of zero.
  const side = claim.n === 0n ? 0 : claim.n > 0n ? 1 : -1;
  const away = side >= 0 ? diff.n : -diff.n; // value - claim, measured away from zero
  if (side === 0) return abs(diff.n) * unit.d < unit.n * diff.d ? 'truncated' : null;
  return away >= 0n && away * unit.d < unit.n * diff.d ? 'truncated' : null;
}

/**
 * A float64 value as the rational it most likely stands for: within 2^-36 of its size from a
 * multiple of half the claim's unit, it is taken to be that multiple (the float error of the
 * computation, not a digit the claim could mean); otherwise its exact binary value. For a claim of
 * 9 to 12 significant digits, where 2^-36 would not be small beside its unit, within 2^-46 (64 units
 * in float64's last place): -3436.0739999999996 stands for -3436.074, whose truncation is -3436.07400.
 */
export function fromComputed(x: number, last: number): Rational {
  const r = fromDouble(x);
  const half = 10 ** last / 2;
  const tol = [2 ** -36, 2 ** -46].map((t) => Math.abs(x) * t).find((t) => t * 100 < half);
  if (tol === undefined || !Number.isFinite(x)) return r; // the claim has digits near float64's own precision
  const halfUnit = last >= 1 ? { n: 10n ** BigInt(last), d: 2n } : { n: 1n, d: 2n * 10n ** BigInt(-last) };
  // The nearest multiple of half a unit: round(r / halfUnit) * halfUnit.
  const q = r.n * halfUnit.d,
    s = r.d * halfUnit.n;
  const k = (2n * q + (q >= 0n ? s : -s)) / (2n * s);
  const grid = { n: k * halfUnit.n, d: halfUnit.d };
  const dist = { n: abs(r.n * grid.d - grid.n * r.d), d: r.d * grid.d };
  const t = fromDouble(tol);
  return dist.n * t.d <= t.n * dist.d ? (rational(grid.n, grid.d) ?? r) : r;
}
