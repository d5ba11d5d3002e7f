// The server stage's timeout without a Node timer per call: every in-flight call's deadline
// sits on one shared wheel (an unref'd interval), fires at the deadline (never before, at most
// a tick or so after), aborts the call's signal, and leaves nothing behind once calls end.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { BuiltinServerStage, BreakerRegistry, DeadlineWheel, TimeoutError, toStatus, type ServerCallInfo, type StageHandler, type WheelEntry } from '../src/index.js';

function info(deadline = Infinity): ServerCallInfo & { aborted: unknown } {
  const controller = new AbortController();
  return {
    method: '/t.T/M',
    metadata: new grpc.Metadata(),
    request: {},
    peer: 'ipv4:127.0.0.1:1',
    deadline,
    signal: controller.signal,
    aborted: undefined,
    abort(reason) {
      this.aborted = reason;
      controller.abort(reason);
    },
  };
}
const stage = (timeoutMs: number, breakers?: BreakerRegistry) => new BuiltinServerStage({ trace: true, recover: true, stat: true, timeoutMs, methodTimeoutsMs: new Map(), breakers });
// The wheel's timer is unref'd (as a server's listening socket keeps a real process alive):
// this one keeps the test's event loop up while calls wait.
const keepAlive = setInterval(() => undefined, 60_000);
after(() => clearInterval(keepAlive));
const refTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('stage timeout: calls past their budget end with DEADLINE_EXCEEDED at the deadline, on one shared unref\'d timer', async () => {
  const s = stage(150);
  const never: StageHandler = () => undefined;
  const baseline = refTimers();
  const outcomes: Array<Promise<{ err: unknown; ms: number; call: ReturnType<typeof info> }>> = [];
  for (let i = 0; i < 200; i++) {
    const call = info();
    const t0 = performance.now();
    outcomes.push(new Promise((resolve) => s.run(call, never, (err) => resolve({ err, ms: performance.now() - t0, call }))));
  }
  assert.equal(refTimers(), baseline, 'no Node timer per call while 200 calls wait');
  for (const { err, ms, call } of await Promise.all(outcomes)) {
    assert.ok(err instanceof TimeoutError, String(err));
    assert.equal(toStatus(err).code, grpc.status.DEADLINE_EXCEEDED);
    assert.ok(ms >= 149, `not before the deadline (${ms.toFixed(1)} ms)`);
    assert.ok(ms < 150 + 250, `soon after it (${ms.toFixed(1)} ms)`);
    assert.ok(call.aborted instanceof TimeoutError, "the call's signal is aborted");
    assert.equal(call.signal.aborted, true);
  }
});

test("stage timeout: the client's earlier deadline wins; answered calls leave the wheel; no budget left fails at once", async () => {
  const s = stage(5_000);
  const t0 = performance.now();
  const err = await new Promise((resolve) => s.run(info(Date.now() + 80), () => undefined, (e) => resolve(e)));
  assert.ok(err instanceof TimeoutError);
  const ms = performance.now() - t0;
  assert.ok(ms >= 75 && ms < 80 + 250, `at the client's deadline (${ms.toFixed(1)} ms)`);

  const answered = await new Promise<unknown>((resolve) => s.run(info(), (_i, done) => setImmediate(() => done(null, 'v')), (e, v) => resolve(e ?? v)));
  assert.equal(answered, 'v');

  let ran = false;
  const late = await new Promise((resolve) => s.run(info(Date.now() - 1), () => (ran = true), (e) => resolve(e)));
  assert.ok(late instanceof TimeoutError, 'an expired deadline fails the call at once');
  assert.equal(ran, true, 'the handler still runs (its outcome unused)');
});

test('stage timeout: off when neither a default nor a per-method timeout is configured', async () => {
  const s = stage(0);
  const res = await new Promise<unknown>((resolve) => s.run(info(Date.now() + 30), (_i, done) => setTimeout(() => done(null, 'late'), 120), (e, v) => resolve(e ?? v)));
  assert.equal(res, 'late', 'the stage leaves the client deadline to grpc-js');
});

test('deadline wheel: scheduled entries fire once in deadline order, cancelled ones never; the timer stops when empty', async () => {
  const wheel = new DeadlineWheel(5);
  const fired: string[] = [];
  const entry = (name: string): WheelEntry => ({ at: 0, slot: -1, index: 0, fire: () => fired.push(name) });
  const a = entry('a');
  const b = entry('b');
  const c = entry('c');
  wheel.schedule(b, 60);
  wheel.schedule(a, 20);
  wheel.schedule(c, 40);
  wheel.cancel(c);
  const cancelFn = wheel.add(30, () => fired.push('fn'));
  cancelFn();
  const viaFn = new Promise<void>((resolve) => wheel.add(45, () => (fired.push('add'), resolve())));
  assert.equal(wheel.size, 3, 'a, b and the add() entry wait');
  await viaFn;
  await new Promise<void>((resolve) => wheel.schedule({ at: 0, slot: -1, index: 0, fire: resolve }, 70));
  assert.deepEqual(fired, ['a', 'add', 'b']);
  assert.equal(wheel.size, 0);
});

test('stage breaker: opens under failures and refuses without running the handler', async () => {
  const breakers = new BreakerRegistry();
  const s = stage(0, breakers);
  let handled = 0;
  const fail: StageHandler = (_i, done) => {
    handled++;
    done(new Error('boom'));
  };
  const codes: number[] = [];
  for (let i = 0; i < 300; i++) {
    const err = await new Promise<unknown>((resolve) => s.run(info(), fail, (e) => resolve(e)));
    codes.push(toStatus(err).code);
  }
  const refused = codes.filter((c) => c === grpc.status.UNAVAILABLE).length;
  assert.ok(refused > 50, `breaker refusals: ${refused}`);
  assert.equal(handled, 300 - refused, 'refused calls never reach the handler');
  assert.equal(codes.filter((c) => c === grpc.status.INTERNAL).length, handled, 'failures recovered as INTERNAL');
});

test('deadline wheel: deadlines beyond one turn wait for their turn; a rescheduled entry moves', async () => {
  const wheel = new DeadlineWheel(1); // one turn of 1024 slots is ~1 s
  const t0 = performance.now();
  const times: Record<string, number> = {};
  const mk = (name: string, resolve?: () => void): WheelEntry => ({ at: 0, slot: -1, index: 0, fire: () => ((times[name] = performance.now() - t0), resolve?.()) });
  let done!: () => void;
  const last = new Promise<void>((r) => (done = r));
  wheel.schedule(mk('far', done), 1300);
  const moved = mk('moved');
  wheel.schedule(moved, 50);
  wheel.schedule(moved, 200);
  wheel.schedule(mk('near'), 100);
  assert.equal(wheel.size, 3, 'a rescheduled entry is in the wheel once');
  await last;
  assert.ok(times.near >= 99 && times.near < 100 + 250, `near at ${times.near}`);
  assert.ok(times.moved >= 199 && times.moved < 200 + 250, `moved to 200 ms, fired at ${times.moved}`);
  assert.ok(times.far >= 1299, `far not before its deadline (${times.far}), though its slot came round at ~${1300 - 1024} ms`);
  assert.deepEqual(Object.keys(times).sort(), ['far', 'moved', 'near']);
  assert.equal(wheel.size, 0);
  for (const bad of [NaN, Infinity]) assert.throws(() => wheel.add(bad, () => undefined), RangeError);
  assert.equal(wheel.size, 0);
});
