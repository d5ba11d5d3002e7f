// The client interceptor chain (go-zero's clientinterceptors, in order): tracing →
// duration (slow log over 500 ms) → prometheus → breaker (per target+method) → timeout
// (default deadline unless the call set one) → user interceptors (grpc-js Interceptor).
//
// RpcClient runs the built-in part as a grpc-js call invocation transformer: it sees each
// call once as it is made (method, metadata, options, callback) without the per-call
// InterceptingCall objects, listener wrappers and bound functions an interceptor costs.
// clientInterceptor() does the same work as an interceptor, for composing by hand.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { childOfSpan, childTraceparent, currentSpan, enableSpanPropagation, traceparentHeader } from '../trace/trace-context.js';
import type { BreakerRegistry, GoogleBreaker } from '../breaker/google-breaker.js';
import { failureCodes } from '../balancer/failure-codes.js';
import type { RpcMetrics } from './metrics.js';
import { firstValue, setOwnValue } from '../internal/metadata-access.js';

export const clientSlowThresholdMs = 500;
export const breakerOpenDetails = 'circuit breaker is open';

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

/** What both forms share: breakers per method, outgoing metadata, and the end-of-call bookkeeping. */
class ClientChain {
  private readonly breakerByMethod = new Map<string, GoogleBreaker>();
  constructor(private readonly o: ClientChainOptions) {}

  /** The method's breaker (undefined when breakers are off). */
  breaker(method: string): GoogleBreaker | undefined {
    const o = this.o;
    if (!o.breakers) return undefined;
    let b = this.breakerByMethod.get(method);
    if (!b) this.breakerByMethod.set(method, (b = o.breakers.get(`${o.target}${method}`)));
    return b;
  }

  /** A call the breaker refused: counted, never sent. */
  refused(method: string): void {
    this.o.metrics?.record(method, grpc.status.UNAVAILABLE, 0);
  }

  /** traceparent (the caller's explicit one, else the span being served, else a new trace) and app/token. */
  decorate(metadata: grpc.Metadata): void {
    const o = this.o;
    if (o.trace) {
      const explicit = firstValue(metadata, traceparentHeader);
      let value: string;
      if (typeof explicit === 'string') value = childTraceparent(explicit);
      else {
        const parent = currentSpan();
        value = parent ? childOfSpan(parent) : childTraceparent(undefined);
      }
      setOwnValue(metadata, traceparentHeader, value); // hex and dashes: nothing to validate
    }
    if (o.app !== undefined && o.token !== undefined) {
      metadata.set('app', o.app);
      metadata.set('token', o.token);
    }
  }

  ended(method: string, breaker: GoogleBreaker | undefined, start: number, code: number): void {
    const o = this.o;
    const ms = performance.now() - start;
    o.metrics?.record(method, code, ms);
    if (breaker) {
      if (failureCodes.has(code)) breaker.markFailure();
      else breaker.markSuccess();
    }
    if (o.duration && ms > clientSlowThresholdMs) o.logger?.warn({ target: o.target, method, durationMs: Math.round(ms), code }, '[RPC] slowcall');
  }

  deadline(current: grpc.Deadline | undefined): grpc.Deadline | undefined {
    return this.o.timeoutMs > 0 && current === undefined ? Date.now() + this.o.timeoutMs : current;
  }
}

/** One grpc-js interceptor doing all the built-in client work (cheaper than five). */
export function clientInterceptor(o: ClientChainOptions): grpc.Interceptor {
  if (o.trace) enableSpanPropagation();
  const chain = new ClientChain(o);
  return (options, nextCall) => {
    const method = options.method_definition.path;
    options.deadline = chain.deadline(options.deadline);
    const breaker = chain.breaker(method);
    if (breaker && !breaker.allow()) {
      chain.refused(method);
      return rejectedCall(nextCall(options), grpc.status.UNAVAILABLE, breakerOpenDetails);
    }
    const start = performance.now();
    return new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        chain.decorate(metadata);
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            chain.ended(method, breaker, start, status.code);
            nextStatus(status);
          },
        });
      },
    });
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyCallProperties = grpc.CallProperties<any, any>;

/**
 * The built-in client work as a call invocation transformer (grpc.ClientOptions
 * callInvocationTransformer). A call the breaker refuses is given a call-level interceptor
 * that ends it with UNAVAILABLE before it reaches the network (call-level interceptors
 * replace the client's, so user interceptors do not see it, as with clientInterceptor).
 */
export function clientCallTransformer(o: ClientChainOptions): grpc.CallInvocationTransformer {
  // calls made from a handler's async continuations must see the span being served
  if (o.trace) enableSpanPropagation();
  const chain = new ClientChain(o);
  const refuse: grpc.Interceptor = (options, nextCall) => rejectedCall(nextCall(options), grpc.status.UNAVAILABLE, breakerOpenDetails);
  return (props: AnyCallProperties): AnyCallProperties => {
    const method = props.methodDefinition.path;
    const deadline = chain.deadline(props.callOptions.deadline);
    // callOptions may be the caller's own object: never write into it
    if (deadline !== props.callOptions.deadline) props.callOptions = { ...props.callOptions, deadline };
    const breaker = chain.breaker(method);
    if (breaker && !breaker.allow()) {
      chain.refused(method);
      props.callOptions = { ...props.callOptions, interceptors: [refuse], interceptor_providers: [] };
      return props;
    }
    chain.decorate(props.metadata);
    const start = performance.now();
    const callback = props.callback;
    if (callback) {
      // unary and client-streaming calls: the callback sees every outcome
      props.callback = (err: grpc.ServiceError | null, value?: unknown) => {
        chain.ended(method, breaker, start, err ? err.code : grpc.status.OK);
        callback(err, value);
      };
    } else {
      // server-streaming and bidi calls end with a 'status' event
      props.call.once('status', (status: grpc.StatusObject) => chain.ended(method, breaker, start, status.code));
    }
    return props;
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
