/**
 * Exact decimal sums for Pascal VOC's corners. VOC writes `xmin = x + 1` and `xmax = x + width`;
 * in binary floating point `0.1 + 1 - 1` is not `0.1`, so a box written and read back would move
 * by a rounding step. Adding the numbers' shortest decimal forms exactly (as integers scaled by a
 * power of ten) makes the round trip give back the very same doubles: the reader subtracts the
 * same decimals, and the shortest form of a double parses to that double.
 */

// A double's shortest form has at most 17 digits and an exponent within ±324; text beyond these
// bounds is refused instead of growing a BigInt without limit.
const MAX_TEXT = 64;
const MAX_EXPONENT = 400;

/** value = digits × 10^exponent, exactly. */
export class ExactDecimal {
  private constructor(
    private readonly digits: bigint,
    private readonly exponent: number,
  ) {}

  /** Decimal text (`12`, `-0.5`, `1e-7`, `2.5E+3`); null when it is not one (or absurdly long). */
  static parse(text: string): ExactDecimal | null {
    if (typeof text !== 'string' || text.length > MAX_TEXT) return null;
    const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
    if (!match) return null;
    const [, sign, whole = '', fraction = '', exp = '0'] = match;
    if (whole === '' && fraction === '') return null;
    const exponent = Number(exp) - fraction.length;
    if (Math.abs(exponent) > MAX_EXPONENT) return null;
    const digits = BigInt(`${whole}${fraction}` || '0');
    return new ExactDecimal(sign === '-' ? -digits : digits, exponent);
  }

  /** A finite double as its shortest decimal form. */
  static of(value: number): ExactDecimal {
    return ExactDecimal.parse(String(value))!;
  }

  plus(other: ExactDecimal | number): ExactDecimal {
    const b = typeof other === 'number' ? ExactDecimal.of(other) : other;
    const exponent = Math.min(this.exponent, b.exponent);
    const scale = (d: ExactDecimal) => d.digits * 10n ** BigInt(d.exponent - exponent);
    return new ExactDecimal(scale(this) + scale(b), exponent);
  }

  minus(other: ExactDecimal | number): ExactDecimal {
    const b = typeof other === 'number' ? ExactDecimal.of(other) : other;
    return this.plus(new ExactDecimal(-b.digits, b.exponent));
  }

  /** Plain decimal text (no exponent), trailing zeros of the fraction dropped. */
  toString(): string {
    const negative = this.digits < 0n;
    let text = (negative ? -this.digits : this.digits).toString();
    if (this.exponent >= 0) {
      text = this.digits === 0n ? '0' : text + '0'.repeat(this.exponent);
    } else {
      const places = -this.exponent;
      text = text.padStart(places + 1, '0');
      const whole = text.slice(0, text.length - places);
      const fraction = text.slice(text.length - places).replace(/0+$/, '');
      text = fraction ? `${whole}.${fraction}` : whole;
    }
    return negative && text !== '0' ? `-${text}` : text;
  }

  /** The nearest double; null when it is out of range. */
  toNumber(): number | null {
    const value = Number(this.toString());
    return Number.isFinite(value) ? value : null;
  }
}

/** Decimal text as a finite number, or null (no `0x`, no `Infinity`, no blanks). */
export function decimalNumber(text: string): number | null {
  return ExactDecimal.parse(text)?.toNumber() ?? null;
}
