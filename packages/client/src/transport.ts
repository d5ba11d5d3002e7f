// Sends calls over the endpoint pool: deadlines, auth token metadata (with one re-authentication
// on "invalid auth token"), failover, and retries only when they are safe: reads on any
// unavailability, writes only when the request provably never left the client.
import * as grpc from '@grpc/grpc-js';
import { etcdserverpb } from '@tsetcd/proto';
import {
  CanceledError,
  ClientClosedError,
  DeadlineExceededError,
  EtcdClientError,
  InvalidAuthTokenError,
  UnavailableError,
  isNeverSent,
  isRetryableForReads,
  toClientError,
} from './errors.js';
import { EndpointPool, type Endpoint } from './endpoint-pool.js';
import { dialTimeoutDefaultMs, unaryRetriesMax, type ClientOptions } from './options.js';

export interface CallOptions {
  /** Deadline of this call in milliseconds (default: the client's requestTimeout, else none). */
  timeout?: number;
  /** Cancels the call. */
  signal?: AbortSignal;
  /** Send the call to this endpoint only (no failover), e.g. Status of one member. */
  endpoint?: string;
}

/** Retry class of a method: `read` may be resent after any unavailability, `write` only if never sent. */
export type RetryKind = 'read' | 'write';

export type UnaryDef<Req, Res> = grpc.MethodDefinition<Req, Res> & { requestStream: false; responseStream: false };
export type BidiDef<Req, Res> = grpc.MethodDefinition<Req, Res> & { requestStream: true; responseStream: true };
export type ServerStreamDef<Req, Res> = grpc.MethodDefinition<Req, Res> & { requestStream: false; responseStream: true };

const authenticateDef = etcdserverpb.AuthService.authenticate;

export class Transport {
  readonly pool: EndpointPool;
  readonly dialTimeoutMs: number;
  private readonly requestTimeoutMs: number | undefined;
  private readonly username: string | undefined;
  private readonly password: string | undefined;
  private token: string | undefined;
  private tokenPromise: Promise<string> | undefined;
  private readonly inflight = new Set<grpc.Call>();

  constructor(opts: ClientOptions) {
    this.pool = new EndpointPool(opts);
    this.dialTimeoutMs = opts.dialTimeout ?? dialTimeoutDefaultMs;
    this.requestTimeoutMs = opts.requestTimeout;
    this.username = opts.username;
    this.password = opts.password;
  }

  get hasCredentials(): boolean {
    return this.username !== undefined && this.password !== undefined;
  }

  /** Picks a connected endpoint, waiting at most the dial timeout (or until `deadlineMs`). */
  pick(opts?: { endpoint?: string; deadlineMs?: number; signal?: AbortSignal }): Promise<Endpoint> {
    const only = opts?.endpoint === undefined ? undefined : this.pool.byUrl(opts.endpoint);
    const dialDeadline = Date.now() + this.dialTimeoutMs;
    const deadline = opts?.deadlineMs === undefined ? dialDeadline : Math.min(dialDeadline, opts.deadlineMs);
    return this.pool.pick(deadline, only, opts?.signal);
  }

  /** Metadata carrying the auth token (authenticating first when credentials are configured). */
  async metadata(ep: Endpoint, forceRefresh = false): Promise<grpc.Metadata> {
    const md = new grpc.Metadata();
    if (!this.hasCredentials) return md;
    if (forceRefresh) this.token = undefined;
    if (this.token === undefined) {
      if (this.tokenPromise === undefined) {
        this.tokenPromise = this.authenticate(ep).finally(() => (this.tokenPromise = undefined));
      }
      this.token = await this.tokenPromise;
    }
    md.set('token', this.token);
    return md;
  }

  /** Forgets the token so the next call authenticates again. */
  invalidateToken(): void {
    this.token = undefined;
  }

  private async authenticate(ep: Endpoint): Promise<string> {
    const req = etcdserverpb.AuthenticateRequest.fromPartial({ name: this.username, password: this.password });
    const deadline = Date.now() + Math.max(this.dialTimeoutMs, this.requestTimeoutMs ?? 0, 5_000);
    const res = await this.once(ep, authenticateDef, req, new grpc.Metadata(), deadline, undefined);
    return res.token;
  }

  /** One unary call on one endpoint, no retry. */
  private once<Req, Res>(
    ep: Endpoint,
    def: UnaryDef<Req, Res>,
    req: Req,
    md: grpc.Metadata,
    deadlineMs: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      if (signal?.aborted) return reject(new CanceledError('context canceled'));
      const options: grpc.CallOptions = deadlineMs === undefined ? {} : { deadline: deadlineMs };
      const call = ep.channel.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        req,
        md,
        options,
        (err: grpc.ServiceError | null, res?: Res) => {
          this.inflight.delete(call);
          signal?.removeEventListener('abort', onAbort);
          if (err !== null) reject(this.pool.isClosed ? new ClientClosedError() : toClientError(err));
          else resolve(res as Res);
        },
      );
      this.inflight.add(call);
      const onAbort = (): void => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A unary call with deadline, auth, failover and safe retry. */
  async unary<Req, Res>(def: UnaryDef<Req, Res>, req: Req, kind: RetryKind, opts?: CallOptions): Promise<Res> {
    if (this.pool.isClosed) throw new ClientClosedError();
    const timeout = opts?.timeout ?? this.requestTimeoutMs;
    const deadlineMs = timeout === undefined ? undefined : Date.now() + timeout;
    let authRetried = false;
    let lastErr: EtcdClientError | undefined;
    for (let attempt = 0; attempt <= unaryRetriesMax; attempt++) {
      if (deadlineMs !== undefined && Date.now() >= deadlineMs) break;
      let ep: Endpoint;
      try {
        ep = await this.pick({ endpoint: opts?.endpoint, deadlineMs, signal: opts?.signal });
      } catch (err) {
        // Nothing was sent: a deadline here is the dial timeout, surfaced as Unavailable.
        if (err instanceof EtcdClientError && !(err instanceof UnavailableError)) throw err;
        if (opts?.signal?.aborted) throw new CanceledError('context canceled');
        if (deadlineMs !== undefined && Date.now() >= deadlineMs) throw new DeadlineExceededError('context deadline exceeded');
        throw err;
      }
      try {
        const md = await this.metadata(ep);
        return await this.once(ep, def, req, md, deadlineMs, opts?.signal);
      } catch (e) {
        const err = toClientError(e);
        lastErr = err;
        if (err instanceof ClientClosedError || err instanceof CanceledError || err instanceof DeadlineExceededError) throw err;
        if (err instanceof InvalidAuthTokenError && this.hasCredentials && !authRetried) {
          authRetried = true;
          this.invalidateToken();
          continue;
        }
        const unavailable = err instanceof UnavailableError;
        if (unavailable) this.pool.demote(ep);
        const safe = kind === 'read' ? isRetryableForReads(err) : unavailable && isNeverSent(err);
        if (!safe) throw err;
        if (!unavailable) this.pool.demote(ep);
        await sleep(Math.min(25 * 2 ** attempt, 500));
      }
    }
    throw lastErr ?? new DeadlineExceededError('context deadline exceeded');
  }

  /** Opens a bidirectional stream on a connected endpoint (with the auth token). */
  async bidi<Req, Res>(def: BidiDef<Req, Res>, extra?: Record<string, string>, signal?: AbortSignal): Promise<{ ep: Endpoint; stream: grpc.ClientDuplexStream<Req, Res> }> {
    const ep = await this.pick({ signal });
    const md = await this.metadata(ep);
    for (const [k, v] of Object.entries(extra ?? {})) md.set(k, v);
    const stream = ep.channel.makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, md, {});
    return { ep, stream };
  }

  /** Opens a server stream (Snapshot, Observe) on a connected endpoint. */
  async serverStream<Req, Res>(def: ServerStreamDef<Req, Res>, req: Req, opts?: CallOptions): Promise<grpc.ClientReadableStream<Res>> {
    const ep = await this.pick({ endpoint: opts?.endpoint, signal: opts?.signal });
    const md = await this.metadata(ep);
    const timeout = opts?.timeout;
    const stream = ep.channel.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, req, md, timeout === undefined ? {} : { deadline: Date.now() + timeout });
    if (opts?.signal !== undefined) {
      const onAbort = (): void => stream.cancel();
      opts.signal.addEventListener('abort', onAbort, { once: true });
      stream.on('close', () => opts.signal?.removeEventListener('abort', onAbort));
    }
    return stream;
  }

  close(): void {
    for (const call of this.inflight) call.cancel();
    this.inflight.clear();
    this.pool.close();
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
