// go-zero's built-in server interceptors fused into one stage (same order and semantics as
// chaining tracing → recover → stats → prometheus → breaker → shedding → timeout from
// server-interceptors.ts, but one promise per call instead of one per layer).
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { runInSpan, startSpan, traceparentHeader } from '../trace/trace-context.js';
import { BreakerOpenError, StatusError, TimeoutError, toStatus } from '../errors.js';
import type { BreakerRegistry, GoogleBreaker } from '../breaker/google-breaker.js';
import { failureCodes } from '../balancer/failure-codes.js';
import type { AdaptiveShedder, ShedderPromise } from '../load/adaptive-shedder.js';
import type { RpcMetrics } from './metrics.js';
import { DeadlineWheel } from '../internal/deadline-wheel.js';

const wheel = new DeadlineWheel();
import { slowThresholdMs, type ServerCallInfo, type UnaryServerInterceptor } from './server-interceptors.js';

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

export function builtinServerStage(o: BuiltinStageOptions): UnaryServerInterceptor {
  const breakerByMethod = new Map<string, GoogleBreaker>();
  const useTimeout = o.timeoutMs > 0 || o.methodTimeoutsMs.size > 0;
  return (info, next) => {
    const start = performance.now();
    let breaker: GoogleBreaker | undefined;
    let promise: ShedderPromise | undefined;

    const finish = (err: unknown, value: unknown): unknown => {
      let code: number = status.OK;
      if (err !== undefined) {
        if (o.recover && !(err instanceof StatusError)) {
          const s = toStatus(err);
          if (s.code === status.INTERNAL) o.logger?.error({ method: info.method, err }, 'handler failed');
          err = new StatusError(s.code, s.details, s.metadata);
        }
        code = toStatus(err).code;
      }
      if (breaker) {
        if (failureCodes.has(code)) breaker.markFailure();
        else breaker.markSuccess();
      }
      if (promise) {
        if (code === status.DEADLINE_EXCEEDED) promise.fail();
        else promise.pass();
      }
      const ms = performance.now() - start;
      o.metrics?.record(info.method, code, ms);
      if (o.stat && ms > slowThresholdMs) o.logger?.warn({ method: info.method, peer: info.peer, durationMs: Math.round(ms) }, '[RPC] slowcall');
      if (err !== undefined) throw err;
      return value;
    };

    try {
      if (o.trace) {
        const incoming = info.metadata.get(traceparentHeader)[0];
        info.span = startSpan(typeof incoming === 'string' ? incoming : undefined);
      }
      if (o.breakers) {
        breaker = breakerByMethod.get(info.method);
        if (!breaker) breakerByMethod.set(info.method, (breaker = o.breakers.get(info.method)));
        if (!breaker.allow()) {
          breaker = undefined; // a refusal is already counted as a drop
          return new Promise((resolve) => resolve(finish(new BreakerOpenError(), undefined)));
        }
      }
      if (o.shedder) promise = o.shedder.allow();
    } catch (err) {
      return new Promise((resolve) => resolve(finish(err, undefined)));
    }

    const run = (): Promise<unknown> => {
      const inner = info.span ? runInSpan(info.span, next) : next();
      return useTimeout ? withTimeout(info, inner, o.timeoutMs, o.methodTimeoutsMs) : inner;
    };
    let p: Promise<unknown>;
    try {
      p = run();
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.then(
      (v) => finish(undefined, v),
      (e) => finish(e, undefined),
    );
  };
}

function withTimeout(info: ServerCallInfo, p: Promise<unknown>, defaultMs: number, methodMs: ReadonlyMap<string, number>): Promise<unknown> {
  const ms = methodMs.get(info.method) ?? defaultMs;
  const budget = Math.min(ms > 0 ? ms : Infinity, info.deadline - Date.now());
  if (budget === Infinity) return p;
  if (budget <= 0) return Promise.reject(new TimeoutError());
  return new Promise((resolve, reject) => {
    const cancel = wheel.add(budget, () => {
      info.abort(new TimeoutError());
      reject(new TimeoutError());
    });
    p.then(
      (v) => {
        cancel();
        resolve(v);
      },
      (e) => {
        cancel();
        reject(e);
      },
    );
  });
}
