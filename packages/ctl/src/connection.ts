// The gRPC connection of one tsetcdctl run: one channel per endpoint, the etcd service clients on
// it, the auth token, deadlines (--command-timeout) and Go-clientv3-like error texts.

import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { etcdserverpb, v3electionpb, v3lockpb } from '@tsetcd/proto';
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

/** gRPC status code names as Go prints them in `rpc error: code = X desc = Y`. */
const goCodeNames = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
  'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable',
  'DataLoss', 'Unauthenticated',
];

/** The text clientv3 gives a failed call: etcd's own error strings as-is, ctx errors as Go's. */
export function grpcErrorText(e: unknown): string {
  const se = e as grpc.ServiceError;
  if (se && typeof se.code === 'number') {
    if (se.code === grpc.status.DEADLINE_EXCEEDED && !/^etcdserver:/.test(se.details)) return 'context deadline exceeded';
    if (se.code === grpc.status.CANCELLED && !/^etcdserver:/.test(se.details)) return 'context canceled';
    if (/^(etcdserver|mvcc|auth|lease): /.test(se.details)) return se.details;
    return `rpc error: code = ${goCodeNames[se.code] ?? se.code} desc = ${se.details}`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Host:port of an etcdctl endpoint (`127.0.0.1:2379`, `http://h:p`, `https://h:p`). */
export function endpointTarget(ep: string): { target: string; secure: boolean | undefined } {
  const m = /^(https?|unixs?):\/\/(.*)$/.exec(ep);
  if (!m) return { target: ep, secure: undefined };
  const scheme = m[1];
  if (scheme.startsWith('unix')) return { target: `unix:${m[2]}`, secure: scheme === 'unixs' };
  return { target: m[2].replace(/\/$/, ''), secure: scheme === 'https' };
}

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall;

export class Connection {
  readonly kv: etcdserverpb.KVClient;
  readonly watchClient: etcdserverpb.WatchClient;
  readonly lease: etcdserverpb.LeaseClient;
  readonly cluster: etcdserverpb.ClusterClient;
  readonly maintenance: etcdserverpb.MaintenanceClient;
  readonly auth: etcdserverpb.AuthClient;
  readonly lock: v3lockpb.LockClient;
  readonly election: v3electionpb.ElectionClient;
  private token: string | undefined;
  private readonly clients: grpc.Client[] = [];
  private authenticated: Promise<void> | undefined;

  constructor(
    readonly cfg: ConnectionConfig,
    readonly endpoint: string,
  ) {
    const { target, secure } = endpointTarget(endpoint);
    const useTls = secure ?? (!cfg.insecureTransport || !!cfg.cert || !!cfg.key || !!cfg.cacert);
    let creds: grpc.ChannelCredentials;
    if (useTls) {
      const read = (p?: string) => (p ? readFileSync(p) : null);
      creds = grpc.credentials.createSsl(read(cfg.cacert), read(cfg.key), read(cfg.cert), cfg.insecureSkipVerify ? { checkServerIdentity: () => undefined } : undefined);
    } else creds = grpc.credentials.createInsecure();
    const options: grpc.ClientOptions = {
      'grpc.keepalive_time_ms': cfg.keepAliveTimeMs,
      'grpc.keepalive_timeout_ms': cfg.keepAliveTimeoutMs,
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': 2 * 1024 * 1024,
      'grpc.enable_retries': 0,
    };
    this.kv = new etcdserverpb.KVClient(target, creds, options);
    const shared = { ...options, channelOverride: this.kv.getChannel() };
    this.watchClient = new etcdserverpb.WatchClient(target, creds, shared);
    this.lease = new etcdserverpb.LeaseClient(target, creds, shared);
    this.cluster = new etcdserverpb.ClusterClient(target, creds, shared);
    this.maintenance = new etcdserverpb.MaintenanceClient(target, creds, shared);
    this.auth = new etcdserverpb.AuthClient(target, creds, shared);
    this.lock = new v3lockpb.LockClient(target, creds, shared);
    this.election = new v3electionpb.ElectionClient(target, creds, shared);
    this.clients.push(this.kv, this.watchClient, this.lease, this.cluster, this.maintenance, this.auth, this.lock, this.election);
  }

  metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    // Like clientv3 (which retries until the context ends), wait for the connection instead of
    // failing fast while the endpoint is unreachable.
    md.setOptions({ waitForReady: true });
    if (this.token) md.set('token', this.token);
    return md;
  }

  /** Call options with the command timeout as deadline (or none when timeoutMs is 0). */
  callOptions(timeoutMs = this.cfg.commandTimeoutMs): Partial<grpc.CallOptions> {
    const o: Partial<grpc.CallOptions> = {};
    if (timeoutMs > 0) o.deadline = new Date(Date.now() + timeoutMs);
    return o;
  }

  private ensureAuth(): Promise<void> {
    if (!this.cfg.user) return Promise.resolve();
    if (!this.authenticated) {
      const user = this.cfg.user;
      this.authenticated = new Promise<void>((resolve, reject) => {
        this.auth.authenticate(
          { name: user.name, password: user.password },
          new grpc.Metadata(),
          this.callOptions(this.cfg.dialTimeoutMs + this.cfg.commandTimeoutMs),
          (err, res) => {
            if (err) reject(err);
            else {
              this.token = res.token;
              resolve();
            }
          },
        );
      });
    }
    return this.authenticated;
  }

  /** One unary call, with the auth token and the command deadline. */
  async call<Req, Res>(client: grpc.Client, method: Unary<Req, Res> | ((...a: never[]) => unknown), req: Req, timeoutMs?: number): Promise<Res> {
    await this.ensureAuth();
    const fn = method as Unary<Req, Res>;
    return new Promise<Res>((resolve, reject) => {
      fn.call(client, req, this.metadata(), this.callOptions(timeoutMs), (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  /** Like `call`, but a failure ends the command with `Error: <text>` and the given exit code. */
  async must<Req, Res>(client: grpc.Client, method: Unary<Req, Res> | ((...a: never[]) => unknown), req: Req, exitCode: number = ExitCode.Error, wrap?: (text: string) => string, timeoutMs?: number): Promise<Res> {
    try {
      return await this.call(client, method, req, timeoutMs);
    } catch (e) {
      const text = grpcErrorText(e);
      throw new CtlExit(exitCode, wrap ? wrap(text) : text);
    }
  }

  async prepare(): Promise<void> {
    try {
      await this.ensureAuth();
    } catch (e) {
      throw new CtlExit(ExitCode.Error, grpcErrorText(e));
    }
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}
