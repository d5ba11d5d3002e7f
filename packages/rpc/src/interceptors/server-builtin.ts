// go-zero's built-in server interceptors fused into one stage (same order and semantics as
// chaining tracing → recover → stats → prometheus → breaker → shedding → timeout from
// server-interceptors.ts). BuiltinServerStage.run drives one call with callbacks: RpcServer
// calls it directly when nothing else is chained (no promise per call), and
// builtinServerStage() wraps it as an interceptor for longer chains.
import { status } from '@grpc/grpc-js';
import { firstValue } from '../internal/metadata-access.js';
import type { Logger } from 'pino';
import { callInSpan, startSpan, traceparentHeader } from '../trace/trace-context.js';
import { BreakerOpenError, StatusError, TimeoutError, toStatus } from '../errors.js';
import type { BreakerRegistry, GoogleBreaker } from '../breaker/google-breaker.js';
import { failureCodes } from '../balancer/failure-codes.js';
import type { AdaptiveShedder, ShedderPromise } from '../load/adaptive-shedder.js';
import type { RpcMetrics } from './metrics.js';
import { DeadlineWheel, type WheelEntry } from '../internal/deadline-wheel.js';
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
/** Receives the outcome: err undefined = success with value; info is the call's (so one function can serve every call). */
export type StageRespond = (err: unknown, value: unknown, info: ServerCallInfo) => void;

/** The per-method part of the stage, made once per method: its breaker and timeout. */
export class MethodStage {
  /** the timeout stage is on (a default or any per-method timeout configured) */
  readonly timeout: boolean;
  /** the method's timeout in ms (0: none; the client's deadline still applies while `timeout`) */
  readonly timeoutMs: number;
  readonly breaker: GoogleBreaker | undefined;
  constructor(
    readonly o: BuiltinStageOptions,
    readonly method: string,
  ) {
    this.timeout = o.timeoutMs > 0 || o.methodTimeoutsMs.size > 0;
    this.timeoutMs = o.methodTimeoutsMs.get(method) ?? o.timeoutMs;
    this.breaker = o.breakers?.get(method);
  }

  /** Runs one call through the stage; respond gets the outcome once. */
  run(info: ServerCallInfo, handler: StageHandler, respond: StageRespond): void {
    new StageCall(this, info, respond).start(handler);
  }
}

export class BuiltinServerStage {
  private readonly byMethod = new Map<string, MethodStage>();

  constructor(private readonly o: BuiltinStageOptions) {}

  /** The stage for one method (cached): what RpcServer binds once per method. */
  method(method: string): MethodStage {
    let m = this.byMethod.get(method);
    if (!m) this.byMethod.set(method, (m = new MethodStage(this.o, method)));
    return m;
  }

  run(info: ServerCallInfo, handler: StageHandler, respond: StageRespond): void {
    this.method(info.method).run(info, handler, respond);
  }
}

/** One call through the stage: admitted by breaker and shedder, timed, settled once; its own deadline entry. */
class StageCall implements WheelEntry {
  private readonly startMs = performance.now();
  private admitted = false;
  private ticket: ShedderPromise | undefined;
  private settled = false;
  /** wheel bookkeeping (WheelEntry) */
  at = 0;
  slot = -1;
  index = 0;

  constructor(
    private readonly m: MethodStage,
    private readonly info: ServerCallInfo,
    private readonly respond: StageRespond,
  ) {}

  start(handler: StageHandler): void {
    const { m, info } = this;
    const o = m.o;
    try {
      if (o.trace) {
        const incoming = firstValue(info.metadata, traceparentHeader);
        info.span = startSpan(typeof incoming === 'string' ? incoming : undefined);
      }
      const breaker = m.breaker;
      if (breaker) {
        // a refusal is already counted as a drop, so the refused call is not marked
        if (!breaker.allow()) return this.settle(new BreakerOpenError(), undefined);
        this.admitted = true;
      }
      if (o.shedder) this.ticket = o.shedder.allow();
    } catch (err) {
      return this.settle(err, undefined);
    }
    const ms = m.timeoutMs;
    const deadline = info.deadline;
    // ms until the call must end: the method's timeout or the client's deadline, whichever is sooner
    const budget = m.timeout ? Math.min(ms > 0 ? ms : Infinity, deadline - Date.now()) : Infinity;
    const done = (err: unknown, value?: unknown) => this.settle(err === null ? undefined : err, value);
    if (budget !== Infinity && budget > 0) wheel.schedule(this, budget);
    // no time left at all: the call fails at once (the handler still runs, its outcome unused)
    if (budget <= 0) this.settle(new TimeoutError(), undefined);
    try {
      if (info.span) callInSpan(info.span, handler, info, done);
      else handler(info, done);
    } catch (err) {
      done(err);
    }
  }

  /** The deadline passed (the wheel calls this). */
  fire(): void {
    this.info.abort(new TimeoutError());
    this.settle(new TimeoutError(), undefined);
  }

  private settle(err: unknown, value: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (this.slot >= 0) wheel.cancel(this);
    const { m, info } = this;
    const o = m.o;
    let code: number = status.OK;
    if (err !== undefined) {
      if (o.recover && !(err instanceof StatusError)) {
        const s = toStatus(err);
        if (s.code === status.INTERNAL) o.logger?.error({ method: info.method, err }, 'handler failed');
        err = new StatusError(s.code, s.details, s.metadata);
      }
      code = toStatus(err).code;
    }
    if (this.admitted) {
      if (failureCodes.has(code)) m.breaker!.markFailure();
      else m.breaker!.markSuccess();
    }
    const ticket = this.ticket;
    if (ticket) {
      if (code === status.DEADLINE_EXCEEDED) ticket.fail();
      else ticket.pass();
    }
    const ms = performance.now() - this.startMs;
    o.metrics?.record(info.method, code, ms);
    if (o.stat && ms > slowThresholdMs) o.logger?.warn({ method: info.method, peer: info.peer, durationMs: Math.round(ms) }, '[RPC] slowcall');
    this.respond(err, err === undefined ? value : undefined, info);
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
