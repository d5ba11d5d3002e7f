// A go-zero time.Duration config value. A string is parsed as Go's time.ParseDuration does
// ("300ms", "1m30s", "1.5h"; a bare "0" is the only number without a unit); a YAML/JSON
// number is a count of nanoseconds, because go-zero's config mapping stores it into the
// int64 behind time.Duration as is. Results are in milliseconds (fractional below 1 ms).

import { parseGoDurationMs } from '@tsetcd/common';

export { parseGoDurationMs };

const maxDurationNs = 2 ** 63 - 1;

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
