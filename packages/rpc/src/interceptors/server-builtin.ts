// go-zero's built-in server interceptors fused into one stage (same order and semantics as
// chaining tracing → recover → stats → prometheus → breaker → shedding → timeout from
// server-interceptors.ts). BuiltinServerStage.run drives one call with callbacks: RpcServer
// calls it directly when nothing else is chained (no promise per call), and
// builtinServerStage() wraps it as an interceptor for longer chains.
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { runInSpan, startSpan, traceparentHeader } from '../trace/trace-context.js';
import { BreakerOpenError, StatusError, TimeoutError, toStatus } from '../errors.js';
import type { BreakerRegistry, GoogleBreaker } from '../breaker/google-breaker.js';
import { failureCodes } from '../balancer/failure-codes.js';
import type { AdaptiveShedder, ShedderPromise } from '../load/adaptive-shedder.js';
import type { RpcMetrics } from './metrics.js';
import { DeadlineWheel } from '../internal/deadline-wheel.js';
import { slowThresholdMs, type ServerCallInfo, type UnaryServerInterceptor } from './server-interceptors.js';

const wheel = new DeadlineWheel();

export interface BuiltinStageOptions {
  trace: boolean;
  recover: boolean;
  stat: boolean;
  logger?: Logger;
  metrics?: RpcMetrics;
  breakers?: BreakerRegistry;
  shedder?: AdaptiveShedder;
  /** default timeout in ms (0 = none) and per-method overrides */
  timeoutMs: number;
  methodTimeoutsMs: ReadonlyMap<string, number>;
}

/** What the stage wraps: runs the call and reports once through done (err null/undefined = success). */
export type StageHandler = (info: ServerCallInfo, done: (err: unknown, value?: unknown) => void) => void;
/** Receives the outcome: err undefined = success with value. */
export type StageRespond = (err: unknown, value: unknown) => void;

export class BuiltinServerStage {
  private readonly breakerByMethod = new Map<string, GoogleBreaker>();
  private readonly useTimeout: boolean;

  constructor(private readonly o: BuiltinStageOptions) {
    this.useTimeout = o.timeoutMs > 0 || o.methodTimeoutsMs.size > 0;
  }

  run(info: ServerCallInfo, handler: StageHandler, respond: StageRespond): void {
    new StageCall(this.o, info, respond).start(this, handler);
  }

  /** @internal */
  breaker(method: string, breakers: BreakerRegistry): GoogleBreaker {
    let b = this.breakerByMethod.get(method);
    if (!b) this.breakerByMethod.set(method, (b = breakers.get(method)));
    return b;
  }

  /** @internal ms until the call must end (Infinity: no timeout) */
  budget(info: ServerCallInfo): number {
    if (!this.useTimeout) return Infinity;
    const ms = this.o.methodTimeoutsMs.get(info.method) ?? this.o.timeoutMs;
    return Math.min(ms > 0 ? ms : Infinity, info.deadline - Date.now());
  }
}

/** One call through the stage: admitted by breaker and shedder, timed, settled once. */
class StageCall {
  private readonly startMs = performance.now();
  private breaker: GoogleBreaker | undefined;
  private ticket: ShedderPromise | undefined;
  private cancelTimer: (() => void) | undefined;
  private settled = false;

  constructor(
    private readonly o: BuiltinStageOptions,
    private readonly info: ServerCallInfo,
    private readonly respond: StageRespond,
  ) {}

  start(stage: BuiltinServerStage, handler: StageHandler): void {
    const { o, info } = this;
    try {
      if (o.trace) {
        const incoming = info.metadata.get(traceparentHeader)[0];
        info.span = startSpan(typeof incoming === 'string' ? incoming : undefined);
      }
      if (o.breakers) {
        const breaker = stage.breaker(info.method, o.breakers);
        // a refusal is already counted as a drop, so the refused call is not marked
        if (!breaker.allow()) return this.settle(new BreakerOpenError(), undefined);
        this.breaker = breaker;
      }
      if (o.shedder) this.ticket = o.shedder.allow();
    } catch (err) {
      return this.settle(err, undefined);
    }
    const budget = stage.budget(info);
    const done = (err: unknown, value?: unknown) => this.settle(err === null ? undefined : err, value);
    if (budget !== Infinity && budget > 0) {
      this.cancelTimer = wheel.add(budget, () => {
        info.abort(new TimeoutError());
        this.settle(new TimeoutError(), undefined);
      });
    }
    // no time left at all: the call fails at once (the handler still runs, its outcome unused)
    if (budget <= 0) this.settle(new TimeoutError(), undefined);
    try {
      if (info.span) runInSpan(info.span, () => handler(info, done));
      else handler(info, done);
    } catch (err) {
      done(err);
    }
  }

  private settle(err: unknown, value: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.cancelTimer?.();
    const { o, info } = this;
    let code: number = status.OK;
    if (err !== undefined) {
      if (o.recover && !(err instanceof StatusError)) {
        const s = toStatus(err);
        if (s.code === status.INTERNAL) o.logger?.error({ method: info.method, err }, 'handler failed');
        err = new StatusError(s.code, s.details, s.metadata);
      }
      code = toStatus(err).code;
    }
    const breaker = this.breaker;
    if (breaker) {
      if (failureCodes.has(code)) breaker.markFailure();
      else breaker.markSuccess();
    }
    const ticket = this.ticket;
    if (ticket) {
      if (code === status.DEADLINE_EXCEEDED) ticket.fail();
      else ticket.pass();
    }
    const ms = performance.now() - this.startMs;
    o.metrics?.record(info.method, code, ms);
    if (o.stat && ms > slowThresholdMs) o.logger?.warn({ method: info.method, peer: info.peer, durationMs: Math.round(ms) }, '[RPC] slowcall');
    this.respond(err, err === undefined ? value : undefined);
  }
}

/** The stage as an interceptor (for chains with auth or user interceptors after it). */
export function builtinServerStage(o: BuiltinStageOptions): UnaryServerInterceptor {
  const stage = new BuiltinServerStage(o);
  return (info, next) =>
    new Promise((resolve, reject) => {
      stage.run(
        info,
        (_i, done) => {
          next().then(
            (v) => done(undefined, v),
            (e) => done(e),
          );
        },
        (err, value) => (err !== undefined ? reject(err) : resolve(value)),
      );
    });
}
