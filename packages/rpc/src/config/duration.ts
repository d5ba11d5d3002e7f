// A go-zero time.Duration config value. A string is parsed as Go's time.ParseDuration does
// ("300ms", "1m30s", "1.5h"; a bare "0" is the only number without a unit); a YAML/JSON
// number is a count of nanoseconds, because go-zero's config mapping stores it into the
// int64 behind time.Duration as is. Results are in milliseconds (fractional below 1 ms).
//
// The parser is the same grammar as packages/server/src/cmd/go-duration.ts; @tsetcd/rpc does
// not depend on @tsetcd/server (lmdb and the whole member), so it keeps this small copy.

const nsPerUnit: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const maxDurationNs = 2 ** 63 - 1;
const componentRe = /^(?=[\d.])(\d*)(?:\.(\d*))?([^\d.]*)/;

/** Go's time.ParseDuration; returns milliseconds, or throws an Error with Go's message. */
export function parseGoDurationMs(s: string): number {
  const bad = (why = `time: invalid duration ${JSON.stringify(s)}`) => new Error(why);
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
    if (m === null) throw bad();
    const [whole, int, frac, unit] = m;
    if (int === '' && (frac === undefined || frac === '')) throw bad();
    if (unit === '') throw bad(`time: missing unit in duration ${JSON.stringify(s)}`);
    const scale = nsPerUnit[unit];
    if (scale === undefined) throw bad(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(s)}`);
    totalNs += Number(`${int || '0'}.${frac ?? ''}0`) * scale;
    if (totalNs > maxDurationNs) throw bad();
    rest = rest.slice(whole.length);
  }
  return (sign * totalNs) / 1e6;
}

/**
 * A config duration as go-zero reads it: Go syntax string, or a number of nanoseconds.
 * Returns milliseconds; undefined for anything else (including negative values).
 */
export function parseDurationMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= maxDurationNs ? v / 1e6 : undefined;
  if (typeof v !== 'string') return undefined;
  try {
    const ms = parseGoDurationMs(v.trim());
    return ms >= 0 ? ms : undefined;
  } catch {
    return undefined;
  }
}
