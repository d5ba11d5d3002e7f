// The connection of one tsetcdctl run: a @tsetcd/client Client (its RAW layer returns etcd's
// responses verbatim, which is what the printers need), deadlines from --command-timeout, and
// the error texts Go's clientv3 gives etcdctl.

import { readFileSync } from 'node:fs';
import {
  CanceledError,
  Client,
  DeadlineExceededError,
  EtcdClientError,
  EtcdServerError,
  GrpcError,
  UnavailableError,
  type DeepPartial,
  type RawClient,
  type RawUnary,
  type TlsOptions,
} from '@tsetcd/client';
import { GrpcCode, grpcCodeName } from '@tsetcd/common';
import { CtlExit, ExitCode } from './errors.js';

export interface ConnectionConfig {
  endpoints: string[];
  dialTimeoutMs: number;
  commandTimeoutMs: number;
  keepAliveTimeMs: number;
  keepAliveTimeoutMs: number;
  insecureTransport: boolean;
  insecureSkipVerify: boolean;
  cert?: string;
  key?: string;
  cacert?: string;
  user?: { name: string; password: string };
}

const grpcKeepAliveTimeMinMs = 10_000;
/** clientv3's default MaxCallSendMsgSize. */
export const maxCallSendBytes = 2 * 1024 * 1024;

/** Go gRPC refuses to send an oversized request before it leaves the client, with this text. */
export function checkRequestSize(encodedBytes: number): void {
  if (encodedBytes > maxCallSendBytes) {
    throw new CtlExit(ExitCode.Error, `rpc error: code = ResourceExhausted desc = trying to send message larger than max (${encodedBytes} vs. ${maxCallSendBytes})`);
  }
}

/** gRPC status code names as Go prints them in `rpc error: code = X desc = Y`. */
/** The text clientv3 gives a failed call: etcd's own error strings as-is, ctx errors as Go's. */
export function grpcErrorText(e: unknown): string {
  if (e instanceof CtlExit) return e.message;
  if (e instanceof EtcdServerError) return e.message;
  if (e instanceof DeadlineExceededError) return 'context deadline exceeded';
  if (e instanceof CanceledError) return 'context canceled';
  // clientv3 keeps retrying an unreachable endpoint until the command's context ends.
  if (e instanceof UnavailableError && e.grpcCode === undefined) return 'context deadline exceeded';
  if ((e instanceof GrpcError || e instanceof UnavailableError) && e.grpcCode !== undefined) {
    return `rpc error: code = ${grpcCodeName(e.grpcCode)} desc = ${e.message}`;
  }
  if (e instanceof EtcdClientError) return e.message;
  const se = e as { code?: unknown; details?: string };
  if (se && typeof se.code === 'number') {
    if (/^etcdserver: /.test(se.details ?? '')) return se.details!;
    if (se.code === GrpcCode.DeadlineExceeded) return 'context deadline exceeded';
    if (se.code === GrpcCode.Canceled) return 'context canceled';
    return `rpc error: code = ${grpcCodeName(se.code)} desc = ${se.details}`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Does this endpoint (or the flags) ask for TLS? */
function wantsTls(cfg: ConnectionConfig, endpoint: string): boolean {
  if (/^https:\/\//.test(endpoint) || /^unixs:\/\//.test(endpoint)) return true;
  if (/^http:\/\//.test(endpoint)) return false;
  return !cfg.insecureTransport || !!cfg.cert || !!cfg.key || !!cfg.cacert;
}

export class Connection {
  readonly client: Client;
  readonly raw: RawClient;

  /** @param endpoints one endpoint (per-member commands) or all of them (failover, like clientv3) */
  constructor(
    readonly cfg: ConnectionConfig,
    endpoints: string | string[],
  ) {
    const list = typeof endpoints === 'string' ? [endpoints] : endpoints;
    let tls: TlsOptions | undefined;
    if (list.some((ep) => wantsTls(cfg, ep))) {
      const read = (p?: string) => (p ? readFileSync(p) : undefined);
      tls = { ca: read(cfg.cacert), cert: read(cfg.cert), key: read(cfg.key), insecureSkipVerify: cfg.insecureSkipVerify };
    }
    // Wait for a connection as long as a command may take (clientv3 retries until its context
    // ends, then reports "context deadline exceeded").
    const waitMs = Math.max(cfg.dialTimeoutMs, cfg.commandTimeoutMs);
    this.client = new Client({
      endpoints: list,
      dialTimeout: waitMs,
      tls,
      username: cfg.user?.name,
      password: cfg.user?.password,
      // Go's gRPC raises keepalive periods below 10s to 10s (etcd refuses more frequent pings).
      keepAliveTime: Math.max(cfg.keepAliveTimeMs, grpcKeepAliveTimeMinMs),
      keepAliveTimeout: cfg.keepAliveTimeoutMs,
    });
    this.raw = this.client.raw;
  }

  /** One unary call with the command deadline (timeoutMs 0: no deadline). */
  call<Req, Res>(fn: RawUnary<Req, Res>, req: DeepPartial<Req> | Req, timeoutMs: number = this.cfg.commandTimeoutMs): Promise<Res> {
    return fn(req as DeepPartial<Req>, timeoutMs > 0 ? { timeout: timeoutMs } : undefined);
  }

  /** Like `call`, but a failure ends the command with `Error: <text>` and the given exit code. */
  async must<Req, Res>(fn: RawUnary<Req, Res>, req: DeepPartial<Req> | Req, exitCode: number = ExitCode.Error, wrap?: (text: string) => string, timeoutMs?: number): Promise<Res> {
    try {
      return await this.call(fn, req, timeoutMs);
    } catch (e) {
      const text = grpcErrorText(e);
      throw new CtlExit(exitCode, wrap ? wrap(text) : text);
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
