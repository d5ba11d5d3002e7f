// The permission check as one gRPC interceptor: every handler registered on the client port's
// GrpcServer is wrapped here with its method's declared rule (permission-rules.ts). Unary and
// server-stream requests are checked before the handler runs, which then runs as the caller
// (its proposals name it); the Watch stream is checked per create request; other bidi streams
// must be declared open.

import { etcdserverpb } from '@tsetcd/proto';
import type { BidiCall, BidiHandler, GrpcError, MethodInterceptor } from '../grpc/index.js';
import { Errors, ServerError } from '../errors.js';
import { grpcCodeName } from '@tsetcd/common';
import { runAsCaller, type Caller } from '../auth/caller-context.js';
import { callerOf, type CallerSource } from './caller.js';
import { isLockElectionPath, toGrpcError, toLockElectionError } from './errors.js';
import { declaredRule, open, watchCreates, type PermissionGate } from './permission-rules.js';

const P = etcdserverpb;
type Header = etcdserverpb.ResponseHeader;

export function permissionInterceptor(gate: PermissionGate, header: () => Header): MethodInterceptor {
  return {
    unary(path, handler) {
      const check = requestCheck(gate, path);
      return (req, call) => {
        const caller = check(req, call);
        // no closure per request while no caller is named (auth disabled)
        return caller === undefined ? handler(req, call) : runAsCaller(caller, () => handler(req, call));
      };
    },
    serverStream(path, handler) {
      const check = requestCheck(gate, path);
      return (req, call) => {
        let caller: Caller | undefined;
        try {
          caller = check(req, call);
        } catch (e) {
          call.end(e as GrpcError);
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
 * The check of one unary or server-stream method's requests: the caller it runs as, or throws
 * the refusal as that method's gRPC error (lock and election methods word theirs their own way).
 */
function requestCheck(gate: PermissionGate, path: string): (req: unknown, call: CallerSource) => Caller | undefined {
  if (declaredRule(path) === watchCreates) throw new Error(`gRPC method ${path}: its rule is for the Watch stream`);
  const convert = isLockElectionPath(path) ? toLockElectionError : toGrpcError;
  return (req, call) => {
    try {
      return gate.check(path, req, call);
    } catch (e) {
      throw convert(e);
    }
  };
}

/** etcd's clientv3.InvalidWatchID: the ID of a watch refused at creation */
const invalidWatchId = -1n;
/** Refusals a watch's cancel reason names as they are; any other refusal reads as permission denied. */
const namedWatchRefusals = new Set(['ERR_INVALID_AUTH_TOKEN', 'ERR_AUTH_OLD_REVISION', 'ERR_USER_EMPTY']);

/**
 * The refusal of a watch the caller may not create, or undefined when it may (etcd's
 * isWatchPermitted: a token is resolved even while auth is disabled). The reason is the whole
 * gRPC error text, which etcdctl prints as "watch was canceled (rpc error: code =
 * PermissionDenied desc = etcdserver: permission denied)".
 */
function watchRefusal(gate: PermissionGate, call: BidiCall<etcdserverpb.WatchRequest>, c: etcdserverpb.WatchCreateRequest): string | undefined {
  let refusal: ServerError;
  try {
    const user = callerOf(gate.auth, call);
    if (gate.auth.isEnabled()) gate.range(user, P.RangeRequest.fromPartial({ key: c.key, rangeEnd: c.rangeEnd }));
    return undefined;
  } catch (e) {
    refusal = e instanceof ServerError && namedWatchRefusals.has(e.code) ? e : Errors.permissionDenied();
  }
  return `rpc error: code = ${grpcCodeName(refusal.grpcCode)} desc = ${refusal.message}`;
}

/**
 * The Watch stream as its handler sees it: create requests the caller may not make are answered
 * here — created and canceled at once, with watch ID -1, as etcd does — and never reach the
 * handler. Everything else is the call itself.
 */
function gatedWatchCall(gate: PermissionGate, header: () => Header, call: BidiCall<etcdserverpb.WatchRequest>): BidiCall<etcdserverpb.WatchRequest> {
  async function* filtered(): AsyncGenerator<etcdserverpb.WatchRequest> {
    for await (const req of call) {
      const u = req.requestUnion;
      const reason = u?.$case === 'createRequest' ? watchRefusal(gate, call, u.value) : undefined;
      if (reason !== undefined) {
        const denied = P.WatchResponse.fromPartial({ header: header(), watchId: invalidWatchId, created: true, canceled: true, cancelReason: reason });
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
