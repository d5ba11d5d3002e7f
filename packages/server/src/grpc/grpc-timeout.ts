// The `grpc-timeout` request header: up to 8 ASCII digits then a unit
// (H hours, M minutes, S seconds, m milliseconds, u microseconds, n nanoseconds).

const maxTimeoutDigits = 8;
const msPerUnit: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** Milliseconds from now, or an Error describing why the header is malformed. */
export function parseGrpcTimeoutMs(value: string): number | Error {
  const digits = value.length - 1;
  if (digits < 1 || digits > maxTimeoutDigits) return new Error(`timeout string is too short or too long: ${JSON.stringify(value)}`);
  const perUnit = msPerUnit[value[digits]];
  if (perUnit === undefined) return new Error(`timeout unit is not recognized: ${JSON.stringify(value)}`);
  let n = 0;
  for (let i = 0; i < digits; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return new Error(`timeout value is not a number: ${JSON.stringify(value)}`);
    n = n * 10 + d;
  }
  return n * perUnit;
}
