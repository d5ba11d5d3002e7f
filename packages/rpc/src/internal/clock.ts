// Monotonic milliseconds, injectable so time-based algorithms are testable.
export type Clock = () => number;

export const monotonicMs: Clock = () => performance.now();
