// Go's time.Duration in text: ParseDuration (flags, config files, auth options, retentions) and
// Duration.String. Parsing follows Go's algorithm step by step (integer part, fraction, unit;
// the same overflow checks), and errors carry Go's text byte for byte, quoted as Go's time
// package quotes (non-ASCII and control bytes as \xNN).

const nsPerUnit: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const limit = 1n << 63n;

export class GoDurationError extends Error {
  readonly code = 'ERR_GO_DURATION';
  constructor(message: string) {
    super(message);
    this.name = 'GoDurationError';
  }
}

/** The time package's quote: ASCII as is (`"` and `\` escaped), every other byte as \xNN. */
export function goTimeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0x80 || cp < 0x20) {
      for (const b of Buffer.from(ch, 'utf8')) out += `\\x${b.toString(16).padStart(2, '0')}`;
    } else out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
  }
  return out + '"';
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** time.ParseDuration: "300ms", "-1.5h", "1h15m30.5s"; a bare "0" needs no unit. Returns nanoseconds. */
export function parseGoDuration(orig: string): bigint {
  const invalid = () => new GoDurationError(`time: invalid duration ${goTimeQuote(orig)}`);
  let s = orig;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();
  let d = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) throw invalid();
    // integer part
    let i = 0;
    let v = 0n;
    for (; isDigit(s[i]); i++) {
      if (v > limit / 10n) throw invalid();
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > limit) throw invalid();
    }
    const pre = i > 0;
    s = s.slice(i);
    // fraction: digits past what fits are read and dropped
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s[0] === '.') {
      s = s.slice(1);
      let overflow = false;
      let j = 0;
      for (; isDigit(s[j]); j++) {
        if (overflow) continue;
        const y = f * 10n + BigInt(s.charCodeAt(j) - 48);
        if (f > (limit - 1n) / 10n || y > limit) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) throw invalid(); // "." or ".s"
    // unit: everything up to the next digit or '.'
    let u = 0;
    while (u < s.length && !(s[u] === '.' || isDigit(s[u]))) u++;
    if (u === 0) throw new GoDurationError(`time: missing unit in duration ${goTimeQuote(orig)}`);
    const name = s.slice(0, u);
    s = s.slice(u);
    const unit = nsPerUnit[name];
    if (unit === undefined) throw new GoDurationError(`time: unknown unit ${goTimeQuote(name)} in duration ${goTimeQuote(orig)}`);
    if (v > limit / unit) throw invalid();
    v *= unit;
    if (f > 0n) {
      // a float, as Go does, to stay nanosecond accurate for fractions of hours
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > limit) throw invalid();
    }
    d += v;
    if (d > limit) throw invalid();
  }
  if (neg) return -d;
  if (d > limit - 1n) throw invalid();
  return d;
}

/** parseGoDuration in milliseconds (fractional below 1 ms). */
export function parseGoDurationMs(s: string): number {
  return Number(parseGoDuration(s)) / 1e6;
}

/** time.Duration.String for nanoseconds: "0s", "1.5µs", "100ms", "1m30s", "2h0m0s". */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const sign = ns < 0n ? '-' : '';
  let u = ns < 0n ? -ns : ns;
  // v holds `digits` decimal places; trailing zeros of the fraction are dropped
  const frac = (v: bigint, digits: number): string => {
    const s = v.toString().padStart(digits + 1, '0');
    const fp = s.slice(s.length - digits).replace(/0+$/, '');
    return fp === '' ? s.slice(0, s.length - digits) : `${s.slice(0, s.length - digits)}.${fp}`;
  };
  if (u < 1_000_000_000n) {
    if (u < 1_000n) return `${sign}${u}ns`;
    if (u < 1_000_000n) return `${sign}${frac(u, 3)}µs`;
    return `${sign}${frac(u, 6)}ms`;
  }
  const h = u / 3_600_000_000_000n;
  u -= h * 3_600_000_000_000n;
  const m = u / 60_000_000_000n;
  u -= m * 60_000_000_000n;
  const secs = `${frac(u, 9)}s`;
  if (h > 0n) return `${sign}${h}h${m}m${secs}`;
  if (m > 0n) return `${sign}${m}m${secs}`;
  return sign + secs;
}
