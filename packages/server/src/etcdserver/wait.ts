// The wait registry: a caller that proposed a request waits here until the entry carrying its
// request ID is applied (or the server stops). One map lookup per applied entry.

export interface Waiter<T> {
  resolve(v: unknown): void;
  reject(e: Error): void;
  /** monotonic ms after which expire() fails it */
  deadlineMs: number;
  /** what the waiter's promise resolves with (a throw rejects it); undefined: the value itself */
  answer: ((v: T) => unknown) | undefined;
}

export class WaitRegistry<T> {
  private readonly waiters = new Map<bigint, Waiter<T>>();
  private expiryTimer: NodeJS.Timeout | undefined;

  /**
   * Every `intervalMs`, fails the waiters whose deadline passed with `e()` and reports how many
   * (proposals not applied in time answer "request timed out"; they may still apply).
   */
  startExpiry(intervalMs: number, e: () => Error, onExpired: (n: number) => void): void {
    if (this.expiryTimer !== undefined) return;
    this.expiryTimer = setInterval(() => {
      const n = this.expire(performance.now(), e);
      if (n > 0) onExpired(n);
    }, intervalMs);
  }

  stopExpiry(): void {
    if (this.expiryTimer !== undefined) clearInterval(this.expiryTimer);
    this.expiryTimer = undefined;
  }

  register(id: bigint, deadlineMs = Number.POSITIVE_INFINITY): Promise<T> {
    return this.registerAnswer(id, deadlineMs, undefined) as Promise<T>;
  }

  /**
   * Like register(), resolving with answer(v) instead of v (rejecting with what it throws): one
   * promise where a then() on register()'s would make a second.
   */
  registerAnswer<U>(id: bigint, deadlineMs: number, answer: ((v: T) => U) | undefined): Promise<U> {
    if (this.waiters.has(id)) throw new Error(`wait: duplicate request id ${id}`);
    const p = new Promise<U>(this.capture as (resolve: (v: U) => void, reject: (e: Error) => void) => void);
    this.waiters.set(id, { resolve: this.captured!, reject: this.capturedReject!, deadlineMs, answer });
    this.captured = undefined;
    this.capturedReject = undefined;
    return p;
  }

  // the new promise's resolving functions, handed over by one executor for all (no closure per waiter)
  private captured: ((v: unknown) => void) | undefined = undefined;
  private capturedReject: ((e: Error) => void) | undefined = undefined;
  private readonly capture = (resolve: (v: unknown) => void, reject: (e: Error) => void): void => {
    this.captured = resolve;
    this.capturedReject = reject;
  };

  /** Fails every waiter whose deadline passed (insertion order = deadline order for one timeout). */
  expire(nowMs: number, e: () => Error): number {
    let n = 0;
    for (const [id, w] of this.waiters) {
      if (w.deadlineMs > nowMs) break;
      this.waiters.delete(id);
      w.reject(e());
      n++;
    }
    return n;
  }

  isRegistered(id: bigint): boolean {
    return this.waiters.has(id);
  }

  trigger(id: bigint, v: T): void {
    const w = this.waiters.get(id);
    if (w === undefined) return;
    this.waiters.delete(id);
    if (w.answer === undefined) {
      w.resolve(v);
      return;
    }
    let answer: unknown;
    try {
      answer = w.answer(v);
    } catch (e) {
      w.reject(e as Error);
      return;
    }
    w.resolve(answer);
  }

  fail(id: bigint, e: Error): void {
    const w = this.waiters.get(id);
    if (w === undefined) return;
    this.waiters.delete(id);
    w.reject(e);
  }

  failAll(e: Error): void {
    const ws = [...this.waiters.values()];
    this.waiters.clear();
    for (const w of ws) w.reject(e);
  }

  get size(): number {
    return this.waiters.size;
  }
}
