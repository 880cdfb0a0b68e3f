/**
 * Exact decimal sums for Pascal VOC's corners. VOC writes `xmin = x + 1` and `xmax = x + width`;
 * in binary floating point `0.1 + 1 - 1` is not `0.1`, so a box written and read back would move
 * by a rounding step. Adding the numbers' shortest decimal forms exactly (as integers scaled by a
 * power of ten) makes the round trip give back the very same doubles: the reader subtracts the
 * same decimals, and the shortest form of a double parses to that double.
 */

interface Decimal {
  /** value = digits × 10^exponent */
  digits: bigint;
  exponent: number;
}

// A double's shortest form has at most 17 digits and an exponent within ±324; text beyond these
// bounds is refused instead of growing a BigInt without limit.
const MAX_TEXT = 64;
const MAX_EXPONENT = 400;

/** Parses a decimal number as text (`12`, `-0.5`, `1e-7`, `2.5E+3`); null when it is not one. */
function parse(text: string): Decimal | null {
  if (text.length > MAX_TEXT) return null;
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match) return null;
  const [, sign, whole = '', fraction = '', exp = '0'] = match;
  if (whole === '' && fraction === '') return null;
  const exponent = Number(exp) - fraction.length;
  if (Math.abs(exponent) > MAX_EXPONENT) return null;
  const digits = BigInt(`${whole}${fraction}` || '0');
  return { digits: sign === '-' ? -digits : digits, exponent };
}

function add(a: Decimal, b: Decimal): Decimal {
  const exponent = Math.min(a.exponent, b.exponent);
  const scale = (d: Decimal) => d.digits * 10n ** BigInt(d.exponent - exponent);
  return { digits: scale(a) + scale(b), exponent };
}

function negate(d: Decimal): Decimal {
  return { digits: -d.digits, exponent: d.exponent };
}

/** Plain decimal text (no exponent), trailing zeros of the fraction dropped. */
function format(d: Decimal): string {
  const negative = d.digits < 0n;
  let text = (negative ? -d.digits : d.digits).toString();
  if (d.exponent >= 0) {
    text = d.digits === 0n ? '0' : text + '0'.repeat(d.exponent);
  } else {
    const places = -d.exponent;
    text = text.padStart(places + 1, '0');
    const whole = text.slice(0, text.length - places);
    const fraction = text.slice(text.length - places).replace(/0+$/, '');
    text = fraction ? `${whole}.${fraction}` : whole;
  }
  return negative && text !== '0' ? `-${text}` : text;
}

/** The exact sum of two doubles' shortest decimal forms, as text. */
export function decimalSum(a: number, b: number): string {
  return format(add(parse(String(a))!, parse(String(b))!));
}

/** `a - b` computed exactly on the texts, as the nearest double; null when either is no number. */
export function decimalDifference(a: string, b: string): number | null {
  const [x, y] = [parse(a), parse(b)];
  if (!x || !y) return null;
  return Number(format(add(x, negate(y))));
}

/** The text as a finite number, or null (no exponent games, no `0x`, no blanks). */
export function decimalNumber(text: string): number | null {
  const d = parse(text);
  if (!d) return null;
  const value = Number(format(d));
  return Number.isFinite(value) ? value : null;
}
