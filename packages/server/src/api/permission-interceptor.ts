// The permission check as one gRPC interceptor: every handler registered on the client port's
// GrpcServer is wrapped here with its method's declared rule (permission-rules.ts). Unary and
// server-stream requests are checked before the handler runs, which then runs as the caller
// (its proposals name it); the Watch stream is checked per create request; other bidi streams
// must be declared open.

import { etcdserverpb } from '@tsetcd/proto';
import type { BidiCall, BidiHandler, MethodInterceptor } from '../grpc/index.js';
import { Errors } from '../errors.js';
import { runAsCaller, type Caller } from '../auth/caller-context.js';
import { callerOf } from './caller.js';
import { toGrpcError } from './errors.js';
import { declaredRule, open, watchCreates, type PermissionGate } from './permission-rules.js';

const P = etcdserverpb;
type Header = etcdserverpb.ResponseHeader;

export function permissionInterceptor(gate: PermissionGate, header: () => Header): MethodInterceptor {
  return {
    unary(path, handler) {
      if (declaredRule(path) === watchCreates) throw new Error(`gRPC method ${path}: its rule is for the Watch stream`);
      return (req, call) => {
        let caller: Caller | undefined;
        try {
          caller = gate.check(path, req, call);
        } catch (e) {
          throw toGrpcError(e);
        }
        return runAsCaller(caller, () => handler(req, call));
      };
    },
    serverStream(path, handler) {
      if (declaredRule(path) === watchCreates) throw new Error(`gRPC method ${path}: its rule is for the Watch stream`);
      return (req, call) => {
        let caller: Caller | undefined;
        try {
          caller = gate.check(path, req, call);
        } catch (e) {
          call.end(toGrpcError(e));
          return;
        }
        return runAsCaller(caller, () => handler(req, call));
      };
    },
    bidi(path, handler) {
      // a bidi stream is checked per request; only the Watch stream's checks exist, others must be open
      const rule = declaredRule(path);
      if (rule === open) return handler;
      if (rule !== watchCreates) throw new Error(`gRPC method ${path}: bidi streams can only be open or the Watch stream`);
      const watch = handler as unknown as BidiHandler<etcdserverpb.WatchRequest>;
      return ((call: BidiCall<etcdserverpb.WatchRequest>) => watch(gatedWatchCall(gate, header, call))) as unknown as BidiHandler<unknown>;
    },
  };
}

/**
 * The Watch stream as its handler sees it: create requests the caller may not read are answered
 * here — created and canceled at once with "permission denied", as etcd does — and never reach
 * the handler. Everything else is the call itself.
 */
function gatedWatchCall(gate: PermissionGate, header: () => Header, call: BidiCall<etcdserverpb.WatchRequest>): BidiCall<etcdserverpb.WatchRequest> {
  const permitted = (c: etcdserverpb.WatchCreateRequest): boolean => {
    try {
      gate.range(callerOf(gate.auth, call), P.RangeRequest.fromPartial({ key: c.key, rangeEnd: c.rangeEnd }));
      return true;
    } catch {
      return false;
    }
  };
  async function* filtered(): AsyncGenerator<etcdserverpb.WatchRequest> {
    for await (const req of call) {
      const u = req.requestUnion;
      if (u?.$case === 'createRequest' && gate.auth.isEnabled() && !permitted(u.value)) {
        const denied = P.WatchResponse.fromPartial({ header: header(), watchId: u.value.watchId, created: true, canceled: true, cancelReason: Errors.permissionDenied().message });
        if (!call.write(denied)) await call.drained();
        continue;
      }
      yield req;
    }
  }
  return new Proxy(call, {
    get(target, prop) {
      if (prop === Symbol.asyncIterator) return () => filtered();
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
