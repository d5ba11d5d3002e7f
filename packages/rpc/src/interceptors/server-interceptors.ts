// The server interceptor chain (go-zero's serverinterceptors, in go-zero's order):
// tracing → recover → stats → prometheus → breaker → shedding → timeout → auth → user.
// An interceptor gets the call info and `next`; whatever it throws becomes the status.
import type * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { runInSpan, startSpan, traceparentHeader, type SpanContext } from '../trace/trace-context.js';
import { AuthError, StatusError, TimeoutError, toStatus, RateLimitedError } from '../errors.js';
import type { BreakerRegistry } from '../breaker/google-breaker.js';
import { acceptable } from '../balancer/failure-codes.js';
import type { AdaptiveShedder } from '../load/adaptive-shedder.js';
import type { RpcMetrics } from './metrics.js';

export interface ServerCallInfo {
  /** '/package.Service/Method' */
  method: string;
  metadata: grpc.Metadata;
  request: unknown;
  peer: string;
  /** Absolute deadline in ms since epoch (Infinity when the client set none). */
  deadline: number;
  /** Aborted when the call is cancelled or times out. */
  signal: AbortSignal;
  /** Aborts `signal` (used by the timeout interceptor). */
  abort(reason: unknown): void;
  span?: SpanContext;
}

export type ServerNext = () => Promise<unknown>;
export type UnaryServerInterceptor = (info: ServerCallInfo, next: ServerNext) => Promise<unknown>;

/** Builds one function running the interceptors around the handler. */
export function chainServer(interceptors: readonly UnaryServerInterceptor[], handler: (info: ServerCallInfo) => Promise<unknown>): (info: ServerCallInfo) => Promise<unknown> {
  let fn = handler;
  for (let i = interceptors.length - 1; i >= 0; i--) {
    const ic = interceptors[i];
    const inner = fn;
    fn = (info) => ic(info, () => inner(info));
  }
  return fn;
}

export const tracingInterceptor: UnaryServerInterceptor = (info, next) => {
  const incoming = info.metadata.get(traceparentHeader)[0];
  const span = startSpan(typeof incoming === 'string' ? incoming : undefined);
  info.span = span;
  return runInSpan(span, next);
};

export function recoverInterceptor(logger?: Logger): UnaryServerInterceptor {
  return async (info, next) => {
    try {
      return await next();
    } catch (err) {
      if (err instanceof StatusError) throw err;
      const s = toStatus(err);
      if (s.code === status.INTERNAL) logger?.error({ method: info.method, err }, 'handler failed');
      throw new StatusError(s.code, s.details, s.metadata);
    }
  };
}

export const slowThresholdMs = 500;

export function statsInterceptor(logger?: Logger, slowMs = slowThresholdMs): UnaryServerInterceptor {
  return async (info, next) => {
    const start = performance.now();
    try {
      return await next();
    } finally {
      const ms = performance.now() - start;
      if (ms > slowMs) logger?.warn({ method: info.method, peer: info.peer, durationMs: Math.round(ms) }, '[RPC] slowcall');
      else if (logger?.isLevelEnabled('debug')) logger.debug({ method: info.method, peer: info.peer, durationMs: ms }, 'rpc');
    }
  };
}

export function prometheusInterceptor(metrics: RpcMetrics): UnaryServerInterceptor {
  return async (info, next) => {
    const start = performance.now();
    let code: number = status.OK;
    try {
      return await next();
    } catch (err) {
      code = toStatus(err).code;
      throw err;
    } finally {
      metrics.record(info.method, code, performance.now() - start);
    }
  };
}

export function breakerInterceptor(breakers: BreakerRegistry): UnaryServerInterceptor {
  return (info, next) => breakers.get(info.method).run(next, acceptable);
}

export function sheddingInterceptor(shedder: AdaptiveShedder): UnaryServerInterceptor {
  return async (info, next) => {
    const promise = shedder.allow();
    try {
      const res = await next();
      promise.pass();
      return res;
    } catch (err) {
      if (err instanceof TimeoutError || toStatus(err).code === status.DEADLINE_EXCEEDED) promise.fail();
      else promise.pass();
      throw err;
    }
  };
}

export const defaultTimeoutMs = 2000;

/** Fails the call with DEADLINE_EXCEEDED after the method's timeout (or the client's deadline if sooner). */
export function timeoutInterceptor(defaultMs: number, methodTimeoutsMs: ReadonlyMap<string, number> = new Map()): UnaryServerInterceptor {
  return (info, next) => {
    const ms = methodTimeoutsMs.get(info.method) ?? defaultMs;
    const budget = Math.min(ms > 0 ? ms : Infinity, info.deadline - Date.now());
    if (budget === Infinity) return next();
    if (budget <= 0) return Promise.reject(new TimeoutError());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        info.abort(new TimeoutError());
        reject(new TimeoutError());
      }, budget);
      next().then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  };
}

/** Verifies app/token metadata (go-zero's auth interceptor) against a store. */
export interface TokenStore {
  verify(app: string, token: string): boolean | Promise<boolean>;
}

/** In-memory app → token store. */
export class MemoryTokenStore implements TokenStore {
  private readonly tokens: Map<string, string>;
  constructor(tokens: Record<string, string> = {}) {
    this.tokens = new Map(Object.entries(tokens));
  }
  set(app: string, token: string): void {
    this.tokens.set(app, token);
  }
  verify(app: string, token: string): boolean {
    return this.tokens.get(app) === token;
  }
}

export function authInterceptor(store: TokenStore): UnaryServerInterceptor {
  return async (info, next) => {
    const app = info.metadata.get('app')[0];
    const token = info.metadata.get('token')[0];
    if (typeof app !== 'string' || app === '') throw new AuthError('missing app');
    if (typeof token !== 'string' || token === '') throw new AuthError('missing token');
    if (!(await store.verify(app, token))) throw new AuthError('invalid token');
    return next();
  };
}

/** Refuses calls with RESOURCE_EXHAUSTED when the limiter says no (opt-in user interceptor). */
export function rateLimitInterceptor(allow: (info: ServerCallInfo) => boolean | Promise<boolean>): UnaryServerInterceptor {
  return async (info, next) => {
    if (!(await allow(info))) throw new RateLimitedError();
    return next();
  };
}
