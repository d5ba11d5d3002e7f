// The client interceptor chain (go-zero's clientinterceptors, in order): tracing →
// duration (slow log over 500 ms) → prometheus → breaker (per target+method) → timeout
// (default deadline unless the call set one) → user interceptors (grpc-js Interceptor).
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { currentSpan, formatTraceparent, startSpan, traceparentHeader } from '../trace/trace-context.js';
import type { BreakerRegistry } from '../breaker/google-breaker.js';
import { failureCodes } from '../balancer/failure-codes.js';
import type { RpcMetrics } from './metrics.js';

export const clientSlowThresholdMs = 500;

export interface ClientChainOptions {
  target: string;
  trace: boolean;
  logger?: Logger;
  metrics?: RpcMetrics;
  breakers?: BreakerRegistry;
  /** default call timeout in ms (0 = none) */
  timeoutMs: number;
  /** app/token metadata added to every call (go-zero's client auth) */
  app?: string;
  token?: string;
  duration: boolean;
}

/** One grpc-js interceptor doing all the built-in client work (cheaper than five). */
export function clientInterceptor(o: ClientChainOptions): grpc.Interceptor {
  const breakerByMethod = new Map<string, ReturnType<BreakerRegistry['get']>>();
  return (options, nextCall) => {
    const method = options.method_definition.path;
    if (o.timeoutMs > 0 && options.deadline === undefined) options.deadline = Date.now() + o.timeoutMs;
    let breaker = breakerByMethod.get(method);
    if (!breaker && o.breakers) breakerByMethod.set(method, (breaker = o.breakers.get(`${o.target}${method}`)));
    if (breaker && !breaker.allow()) {
      o.metrics?.record(method, grpc.status.UNAVAILABLE, 0);
      return rejectedCall(nextCall(options), grpc.status.UNAVAILABLE, 'circuit breaker is open');
    }
    const start = performance.now();
    return new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        if (o.trace) {
          // continue the caller's explicit traceparent, else the span being served, else a new trace
          const explicit = metadata.get(traceparentHeader)[0];
          const parent = currentSpan();
          const span = startSpan(typeof explicit === 'string' ? explicit : parent ? formatTraceparent(parent) : undefined);
          metadata.set(traceparentHeader, formatTraceparent(span));
        }
        if (o.app !== undefined && o.token !== undefined) {
          metadata.set('app', o.app);
          metadata.set('token', o.token);
        }
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            const ms = performance.now() - start;
            o.metrics?.record(method, status.code, ms);
            if (breaker) {
              if (failureCodes.has(status.code)) breaker.markFailure();
              else breaker.markSuccess();
            }
            if (o.duration && ms > clientSlowThresholdMs) o.logger?.warn({ target: o.target, method, durationMs: Math.round(ms), code: status.code }, '[RPC] slowcall');
            nextStatus(status);
          },
        });
      },
    });
  };
}

/** A call that ends with the given status without ever reaching the network. */
function rejectedCall(call: ConstructorParameters<typeof grpc.InterceptingCall>[0], code: grpc.status, details: string): grpc.InterceptingCall {
  return new grpc.InterceptingCall(call, {
    start(_metadata, listener) {
      setImmediate(() => listener.onReceiveStatus({ code, details, metadata: new grpc.Metadata() }));
    },
    sendMessage() {},
    halfClose() {},
    cancel() {},
  });
}
