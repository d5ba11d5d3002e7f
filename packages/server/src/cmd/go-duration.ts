// Go's time.ParseDuration: a signed sequence of decimal numbers, each with an optional fraction
// and a unit ("300ms", "-1.5h", "1h15m30.5s"); units ns, us (µs, μs), ms, s, m, h. A bare "0" is
// allowed, any other number needs a unit. The result is in milliseconds (fractional below 1ms).

const nsPerUnit: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Largest magnitude of a Go time.Duration (int64 nanoseconds). */
const maxDurationNs = 2 ** 63 - 1;

export class GoDurationError extends Error {
  readonly code = 'ERR_GO_DURATION';
}

// number, optional fraction, then the unit: every following character that is neither a digit nor '.'
const componentRe = /^(?=[\d.])(\d*)(?:\.(\d*))?([^\d.]*)/;

/** Parses a Go duration string; returns milliseconds. Throws GoDurationError with Go's wording. */
export function parseGoDurationMs(s: string): number {
  const bad = () => new GoDurationError(`time: invalid duration ${JSON.stringify(s)}`);
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw bad();
  let totalNs = 0;
  while (rest !== '') {
    const m = componentRe.exec(rest);
    if (m === null) throw bad(); // not a number where one must start
    const [whole, int, frac, unit] = m;
    if (int === '' && (frac === undefined || frac === '')) throw bad(); // "." or ".s"
    if (unit === '') throw new GoDurationError(`time: missing unit in duration ${JSON.stringify(s)}`);
    const scale = nsPerUnit[unit];
    if (scale === undefined) throw new GoDurationError(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(s)}`);
    totalNs += Number(`${int || '0'}.${frac ?? ''}0`) * scale;
    if (totalNs > maxDurationNs) throw bad();
    rest = rest.slice(whole.length);
  }
  return (sign * totalNs) / 1e6;
}
