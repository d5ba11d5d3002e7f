// Pure algorithm tests with injected clocks and randomness: breaker, shedder, limiters,
// p2c, consistent hash, rolling window, subset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GoogleBreaker,
  AdaptiveShedder,
  ManualLoadProbe,
  MemoryLimitStore,
  PeriodLimiter,
  PeriodResult,
  TokenLimiter,
  P2c,
  ServerStats,
  nanoClock,
  HashRing,
  RollingWindow,
  SumBucket,
  stableSubset,
  OverloadedError,
  breakerBuckets,
  breakerWindowMs,
} from '../src/index.js';

class FakeClock {
  now = 1_000_000;
  read = () => this.now;
  advance(ms: number) {
    this.now += ms;
  }
}

test('rolling window: buckets expire as time moves, ignoreCurrent skips the partial bucket', () => {
  const clock = new FakeClock();
  const w = new RollingWindow(() => new SumBucket(), 4, 100, clock.read);
  w.current().add(1);
  clock.advance(100);
  w.current().add(2);
  let sum = 0;
  w.reduce((b) => (sum += b.sum));
  assert.equal(sum, 3);
  clock.advance(300); // the first bucket is now out of the 400 ms window
  sum = 0;
  w.reduce((b) => (sum += b.sum));
  assert.equal(sum, 2);
  clock.advance(1000);
  sum = 0;
  w.reduce((b) => (sum += b.sum));
  assert.equal(sum, 0);
  const ic = new RollingWindow(() => new SumBucket(), 4, 100, clock.read, true);
  ic.current().add(5);
  sum = 0;
  ic.reduce((b) => (sum += b.sum));
  assert.equal(sum, 0, 'current bucket ignored');
  clock.advance(100);
  sum = 0;
  ic.reduce((b) => (sum += b.sum));
  assert.equal(sum, 5);
});

test('google breaker: protection, opens under failures, forced pass each second, recovers', () => {
  const clock = new FakeClock();
  let r = 0.5;
  const b = new GoogleBreaker('m', { clock: clock.read, random: () => r });
  // the first 5 failures are protected
  for (let i = 0; i < 5; i++) {
    assert.equal(b.allow(), true);
    b.markFailure();
  }
  assert.equal(b.dropRatio(), 0);
  // keep failing: the drop ratio climbs toward 1
  for (let i = 0; i < 100; i++) {
    if (b.allow()) b.markFailure();
    clock.advance(10);
  }
  assert.ok(b.dropRatio() > 0.9, `drop ratio ${b.dropRatio()}`);
  r = 0.0; // every request would be dropped by the random draw
  assert.equal(b.allow(), false);
  const h = b.history();
  assert.ok(h.failingBuckets > 0 && h.accepts === 0);
  // one forced pass after 1 s without a pass
  clock.advance(1001);
  assert.equal(b.allow(), true, 'forced pass');
  assert.equal(b.allow(), false, 'only one');
  // recovery: successes lower the ratio, and after the window everything is forgotten
  clock.advance(breakerWindowMs + 10);
  assert.equal(b.dropRatio(), 0);
  r = 0.5;
  for (let i = 0; i < 50; i++) {
    assert.equal(b.allow(), true);
    b.markSuccess();
  }
  assert.equal(b.history().accepts, 50);
});

test('google breaker: k falls from 1.5 toward 1.1 with consecutive failing buckets', () => {
  const clock = new FakeClock();
  const b = new GoogleBreaker('m', { clock: clock.read, random: () => 1 });
  // 100 successes, then 100 failures spread over 20 buckets
  for (let i = 0; i < 100; i++) b.markSuccess();
  clock.advance(breakerWindowMs / breakerBuckets);
  for (let i = 0; i < 20; i++) {
    for (let j = 0; j < 5; j++) b.markFailure();
    clock.advance(breakerWindowMs / breakerBuckets);
  }
  const h = b.history();
  assert.equal(h.failingBuckets, 20);
  const w = 1.5 - (0.4 * 20) / 40;
  const expected = ((200 - 5 - w * 100) / 201) * ((40 - h.workingBuckets) / 40);
  assert.ok(Math.abs(b.dropRatio() - Math.max(expected, 0)) < 1e-9, `${b.dropRatio()} vs ${expected}`);
});

test('google breaker: allow() from running window totals decides exactly as the full per-bucket formula', () => {
  // A reference breaker computed from history() on every call (go-zero's formula) must give
  // the same answers as allow(), which skips the bucket scan while no drop is possible.
  const clock = new FakeClock();
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const draws: number[] = [];
  const b = new GoogleBreaker('m', { clock: clock.read, random: () => draws.shift()! });
  let lastPass = 0;
  const reference = (draw: number): boolean => {
    const h = b.history();
    const w = Math.max(1.5 - (0.4 * h.failingBuckets) / breakerBuckets, 1.1);
    const ratio = (h.total - 5 - w * h.accepts) / (h.total + 1);
    if (ratio <= 0) return true;
    const now = clock.now;
    if (lastPass > 0 && now - lastPass > 1000) {
      lastPass = now;
      return true;
    }
    if (draw < ratio * ((breakerBuckets - h.workingBuckets) / breakerBuckets)) return false;
    lastPass = now;
    return true;
  };
  let decisions = 0;
  let drops = 0;
  for (let i = 0; i < 20_000; i++) {
    // phases of failures and successes so the ratio crosses zero many times
    const failing = Math.floor(i / 1500) % 2 === 1;
    const draw = rand();
    const expected = reference(draw);
    draws.length = 0;
    draws.push(draw);
    const got = b.allow();
    assert.equal(got, expected, `call ${i} at ${clock.now}`);
    decisions++;
    if (!got) drops++;
    else if (failing || rand() < 0.05) b.markFailure();
    else b.markSuccess();
    clock.advance(Math.floor(rand() * 12));
  }
  assert.ok(drops > 100 && drops < decisions, `drops ${drops} of ${decisions}`);
});

test('adaptive shedder: drops only when overloaded and over maxFlight, cool-off 1 s', () => {
  const clock = new FakeClock();
  const probe = new ManualLoadProbe(0);
  const s = new AdaptiveShedder({ probe, clock: clock.read, cpuThresholdMillicpu: 900 });
  // history: 10 passes per 100 ms bucket at 10 ms each → maxFlight = 10 * 10 * 10 / 1000 = 1
  for (let bucket = 0; bucket < 10; bucket++) {
    for (let i = 0; i < 10; i++) {
      const p = s.allow();
      clock.advance(1);
      p.pass();
    }
    clock.advance(100);
  }
  assert.ok(s.maxPass() >= 10);
  // not overloaded: any number in flight is admitted
  const held = Array.from({ length: 50 }, () => s.allow());
  probe.millicpu = 950;
  // overloaded and far more in flight than maxFlight: dropped
  held.slice(0, 5).forEach((p) => p.pass()); // update avgFlying
  assert.throws(() => s.allow(), (e: unknown) => e instanceof OverloadedError && e.details === 'service overloaded' && e.grpcCode === 8);
  // cpu falls, but we dropped recently: still hot for the 1 s cool-off
  probe.millicpu = 100;
  assert.throws(() => s.allow(), OverloadedError);
  clock.advance(1001);
  const p = s.allow();
  p.pass();
  held.slice(5).forEach((x) => x.fail());
  assert.ok(s.dropped >= 2);
});

test('period limiter: quota per window, HitQuota on the last, over after; aligned windows', async () => {
  const clock = new FakeClock();
  const store = new MemoryLimitStore(clock.read);
  const l = new PeriodLimiter({ periodSec: 1, quota: 3, keyPrefix: 'p:', store });
  assert.equal(await l.take('a'), PeriodResult.Allowed);
  assert.equal(await l.take('a'), PeriodResult.Allowed);
  assert.equal(await l.take('a'), PeriodResult.HitQuota);
  assert.equal(await l.take('a'), PeriodResult.OverQuota);
  assert.equal(await l.take('b'), PeriodResult.Allowed, 'keys are independent');
  clock.advance(1001);
  assert.equal(await l.take('a'), PeriodResult.Allowed, 'new window');
  let wall = 10_500;
  const aligned = new PeriodLimiter({ periodSec: 1, quota: 1, keyPrefix: 'q:', store, align: true, wallClockMs: () => wall });
  assert.equal(await aligned.take('x'), PeriodResult.HitQuota);
  clock.advance(499);
  wall += 499;
  assert.equal(await aligned.take('x'), PeriodResult.OverQuota);
  clock.advance(2);
  wall += 2;
  assert.equal(await aligned.take('x'), PeriodResult.HitQuota, 'window ended at the period boundary');
});

test('token limiter: burst then rate', async () => {
  const clock = new FakeClock();
  const store = new MemoryLimitStore(clock.read);
  const l = new TokenLimiter({ ratePerSec: 10, burst: 5, key: 't', store, clock: clock.read });
  for (let i = 0; i < 5; i++) assert.equal(await l.allow(), true);
  assert.equal(await l.allow(), false);
  clock.advance(100); // one token
  assert.equal(await l.allow(), true);
  assert.equal(await l.allow(), false);
  clock.advance(10_000);
  assert.equal(await l.allowN(5), true, 'refilled to burst, not beyond');
  assert.equal(await l.allow(), false);
});

test('p2c default clock: like go-zero timex, its origin is over a year back, so a never-picked server is forcibly picked', () => {
  assert.ok(nanoClock() > 365 * 24 * 3600 * 1e9, `${nanoClock()}`);
  const a = nanoClock();
  const b = nanoClock();
  assert.ok(b >= a, 'monotonic');
  const p = new P2c();
  const light = new ServerStats('light');
  const heavy = new ServerStats('heavy');
  light.lagNs = 1e6;
  heavy.lagNs = 1e8;
  heavy.inflight = 10;
  light.pickNs = nanoClock();
  assert.equal(p.pick([light, heavy]), heavy, 'never picked: forced');
  assert.equal(p.pick([light, heavy]), light, 'then the lighter one');
});

test('p2c: prefers the lower-latency server, forces a pick of the other after 1 s, penalises failures', () => {
  let now = 1e12;
  let rnd = 0;
  const rands = [0.1, 0.9, 0.5, 0.3, 0.7];
  const p = new P2c(() => now, () => rands[rnd++ % rands.length]);
  const fast = new ServerStats('fast');
  const slow = new ServerStats('slow');
  const picks = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const c = p.pick([fast, slow]);
    picks.set(c.address, (picks.get(c.address) ?? 0) + 1);
    const done = p.startCall(c);
    now += c === fast ? 1e6 : 20e6; // 1 ms vs 20 ms
    done(0);
  }
  assert.ok(picks.get('fast')! > 3 * picks.get('slow')!, `fast ${picks.get('fast')} slow ${picks.get('slow')}`);
  assert.ok(picks.get('slow')! > 0, 'forced picks keep probing the slow one');
  assert.ok(slow.lagNs > fast.lagNs);
  // failures drive success below the throttle, making the server unhealthy
  const bad = new ServerStats('bad');
  for (let i = 0; i < 50; i++) {
    const done = p.startCall(bad);
    now += 2e9;
    done(14);
  }
  assert.equal(bad.healthy(), false);
  assert.equal(fast.healthy(), true);
  assert.equal(new ServerStats('x').load(), 1, 'fresh: sqrt(0+1)*(0+1)');
});

test('consistent hash: stable owner, few keys move when a node joins', () => {
  const ring = new HashRing(['a', 'b', 'c'].map((n) => [n, n] as [string, string]));
  const before = new Map<string, string>();
  for (let i = 0; i < 3000; i++) before.set(`k${i}`, ring.get(`k${i}`)!);
  const counts = new Map<string, number>();
  for (const v of before.values()) counts.set(v, (counts.get(v) ?? 0) + 1);
  for (const c of counts.values()) assert.ok(c > 600, `balanced enough: ${[...counts]}`);
  const ring2 = new HashRing(['a', 'b', 'c', 'd'].map((n) => [n, n] as [string, string]));
  let moved = 0;
  for (const [k, v] of before) {
    const now = ring2.get(k)!;
    if (now !== v) {
      moved++;
      assert.equal(now, 'd', 'keys only move to the new node');
    }
  }
  assert.ok(moved > 300 && moved < 1300, `moved ${moved}`);
});

test('subset: at most 32, keeps current members', () => {
  const all = Array.from({ length: 100 }, (_, i) => `10.0.0.${i}:80`);
  const first = stableSubset(all, []);
  assert.equal(first.length, 32);
  assert.equal(new Set(first).size, 32);
  const next = stableSubset(all.filter((a) => a !== first[0]), first);
  assert.equal(next.length, 32);
  assert.deepEqual(next.slice(0, 31), first.slice(1));
  assert.deepEqual(stableSubset(all.slice(0, 3), []), all.slice(0, 3));
});
