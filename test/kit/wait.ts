// Waiting on an observable state instead of guessing how long something takes: poll a check
// until it holds (or a value appears), failing with what was awaited once the bound passes.

/** Resolves once `check()` is true; polls every `stepMs` and rejects after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * Polls `fn` until it returns a value other than undefined; a throw counts as "not yet" (its
 * text is reported if the bound passes).
 */
export async function eventually<T>(what: string, budgetMs: number, fn: () => T | undefined | Promise<T | undefined>, stepMs = 25): Promise<T> {
  const deadline = Date.now() + budgetMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
