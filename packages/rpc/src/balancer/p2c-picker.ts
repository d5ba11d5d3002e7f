// Power-of-two-choices over EWMA latency (go-zero's zrpc p2c_ewma balancer, constants
// from its p2c.go). Each server keeps an exponentially weighted lag (ns, decay 10 s) and
// success score (0-1000); load = floor(sqrt(lag+1)) · (inflight+1). Pick two distinct
// servers at random (up to 3 tries to find two healthy ones), take the lighter one
// unless the heavier one has not been picked for 1 s.
import type { Clock } from '../internal/clock.js';
import { failureCodes } from './failure-codes.js';

export const p2cName = 'p2c_ewma';
export const decayTimeNs = 10e9;
export const forcePickNs = 1e9;
export const initSuccess = 1000;
export const throttleSuccess = initSuccess / 2;
export const penalty = 2 ** 31 - 1;
export const pickTimes = 3;

export class ServerStats {
  lagNs = 0;
  inflight = 0;
  success = initSuccess;
  requests = 0;
  lastNs = 0;
  pickNs = 0;
  constructor(readonly address: string) {}

  healthy(): boolean {
    return this.success > throttleSuccess;
  }

  load(): number {
    const lag = Math.floor(Math.sqrt(this.lagNs + 1));
    const load = lag * (this.inflight + 1);
    return load === 0 ? penalty : load;
  }
}

/**
 * go-zero's timex.Now(): monotonic nanoseconds since an origin 1 year, 1 month and 1 day
 * before the process started, so that "now − never" is always long ago (a server never
 * picked is forcibly picked, a first sample decays nothing). From performance.now(): no
 * BigInt per reading; at ~3.4e16 ns a double still resolves 4 ns.
 */
export const nanoClockOriginMs = (() => {
  const now = new Date();
  const origin = new Date(now);
  origin.setFullYear(now.getFullYear() - 1, now.getMonth() - 1, now.getDate() - 1);
  return now.getTime() - origin.getTime();
})();
export const nanoClock: Clock = () => (performance.now() + nanoClockOriginMs) * 1e6;

export class P2c {
  constructor(
    private readonly clockNs: Clock = nanoClock,
    private readonly random: () => number = Math.random,
  ) {}

  private intn(n: number): number {
    return Math.floor(this.random() * n);
  }

  /** Chooses among candidates (non-empty) and counts the request as started. */
  pick(conns: readonly ServerStats[]): ServerStats {
    if (conns.length === 0) throw new RangeError('p2c: no candidates');
    let chosen: ServerStats;
    if (conns.length === 1) chosen = this.choose(conns[0], undefined);
    else if (conns.length === 2) chosen = this.choose(conns[0], conns[1]);
    else {
      let a = conns[0];
      let b = conns[1];
      for (let i = 0; i < pickTimes; i++) {
        const x = this.intn(conns.length);
        let y = this.intn(conns.length - 1);
        if (y >= x) y++;
        a = conns[x];
        b = conns[y];
        if (a.healthy() && b.healthy()) break;
      }
      chosen = this.choose(a, b);
    }
    chosen.inflight++;
    chosen.requests++;
    return chosen;
  }

  private choose(c1: ServerStats, c2: ServerStats | undefined): ServerStats {
    const start = this.clockNs();
    if (!c2) {
      c1.pickNs = start;
      return c1;
    }
    if (c1.load() > c2.load()) [c1, c2] = [c2, c1];
    if (start - c2.pickNs > forcePickNs) {
      c2.pickNs = start;
      return c2;
    }
    c1.pickNs = start;
    return c1;
  }

  /** Returns the function to call when the request picked at this moment ends. */
  startCall(c: ServerStats): (grpcCode: number) => void {
    const start = this.now();
    let ended = false;
    return (grpcCode: number) => {
      if (ended) return;
      ended = true;
      this.callEnded(c, start, grpcCode);
    };
  }

  /** The clock reading to pass to callEnded() for a request starting now. */
  now(): number {
    return this.clockNs();
  }

  /** Ends a request started at startNs (call once per request): EWMA lag and success. */
  callEnded(c: ServerStats, startNs: number, grpcCode: number): void {
    c.inflight--;
    const now = this.clockNs();
    const last = c.lastNs;
    c.lastNs = now;
    let w = Math.exp(-Math.max(0, now - last) / decayTimeNs);
    const lag = Math.max(0, now - startNs);
    if (c.lagNs === 0) w = 0;
    c.lagNs = Math.floor(c.lagNs * w + lag * (1 - w));
    const success = failureCodes.has(grpcCode) ? 0 : initSuccess;
    c.success = Math.floor(c.success * w + success * (1 - w));
  }
}
