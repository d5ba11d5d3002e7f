// The set of endpoints and their gRPC channels. One channel per endpoint; calls go to the
// "active" endpoint while it is connected, and move to any other connected endpoint when it
// breaks. A pick waits (up to a deadline) for some endpoint to become READY, so a dead cluster
// surfaces as UnavailableError instead of a hang.
import * as grpc from '@grpc/grpc-js';
import { ClientClosedError, InvalidArgumentError, UnavailableError } from './errors.js';
import {
  maxCallRecvBytesDefault,
  maxCallSendBytesDefault,
  type ClientOptions,
  type TlsOptions,
} from './options.js';

const { connectivityState: State } = grpc;

/** How long a pick waits for the preferred endpoint before also connecting the others. */
const endpointFailoverGraceMs = 300;

export interface Endpoint {
  /** As given by the user (normalised: no trailing slash). */
  readonly url: string;
  /** host:port handed to gRPC. */
  readonly target: string;
  readonly secure: boolean;
  readonly channel: grpc.Client;
}

export function parseEndpoints(endpoints: string[] | string): string[] {
  const list = (Array.isArray(endpoints) ? endpoints : endpoints.split(','))
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (list.length === 0) throw new InvalidArgumentError('at least one endpoint is required');
  return list;
}

function toTarget(url: string, tls: TlsOptions | undefined): { target: string; secure: boolean } {
  const m = /^(https?|unixs?):\/\/(.+?)\/?$/.exec(url);
  if (m === null) return { target: url.replace(/\/$/, ''), secure: tls !== undefined };
  const scheme = m[1];
  const rest = m[2];
  if (scheme === 'unix' || scheme === 'unixs') return { target: `unix:${rest}`, secure: scheme === 'unixs' };
  return { target: rest, secure: scheme === 'https' };
}

function credentialsFor(secure: boolean, tls: TlsOptions | undefined): grpc.ChannelCredentials {
  if (!secure) return grpc.credentials.createInsecure();
  const buf = (v: Buffer | string | undefined): Buffer | null => (v === undefined ? null : Buffer.from(v));
  const verify = tls?.insecureSkipVerify === true ? { checkServerIdentity: () => undefined, rejectUnauthorized: false } : {};
  return grpc.credentials.createSsl(buf(tls?.ca), buf(tls?.key), buf(tls?.cert), verify);
}

export class EndpointPool {
  readonly endpoints: Endpoint[];
  private active = 0;
  private closed = false;

  constructor(opts: ClientOptions) {
    const channelOptions: grpc.ChannelOptions = {
      // Each Client owns its connections, so close() really closes them.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_send_message_length': opts.maxCallSendBytes ?? maxCallSendBytesDefault,
      'grpc.max_receive_message_length': opts.maxCallRecvBytes ?? maxCallRecvBytesDefault,
      // Reconnect promptly after a member restarts (grpc-js would back off up to 120 s).
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1_000,
      ...(opts.keepAliveTime !== undefined ? { 'grpc.keepalive_time_ms': opts.keepAliveTime, 'grpc.keepalive_permit_without_calls': 1 } : {}),
      ...(opts.keepAliveTimeout !== undefined ? { 'grpc.keepalive_timeout_ms': opts.keepAliveTimeout } : {}),
      ...(opts.tls?.serverName !== undefined ? { 'grpc.ssl_target_name_override': opts.tls.serverName } : {}),
      ...opts.grpcOptions,
    };
    this.endpoints = parseEndpoints(opts.endpoints).map((url) => {
      const { target, secure } = toTarget(url, opts.tls);
      const channel = new grpc.Client(target, credentialsFor(secure, opts.tls), channelOptions);
      return { url: url.replace(/\/$/, ''), target, secure, channel };
    });
  }

  get activeEndpoint(): Endpoint {
    return this.endpoints[this.active];
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Endpoint by URL (or target), for calls pinned to one member (Status, HashKV, ...). */
  byUrl(url: string): Endpoint {
    const want = url.replace(/\/$/, '');
    const ep = this.endpoints.find((e) => e.url === want || e.target === want || e.target === toTarget(want, undefined).target);
    if (ep === undefined) throw new InvalidArgumentError(`unknown endpoint ${url}`);
    return ep;
  }

  /** Marks an endpoint as broken: later picks prefer the others. */
  demote(ep: Endpoint): void {
    const i = this.endpoints.indexOf(ep);
    if (i === this.active) this.active = (i + 1) % this.endpoints.length;
  }

  /**
   * Resolves with a READY endpoint (the active one first), waiting until `deadlineMs` (epoch ms).
   * `only` pins the pick to one endpoint.
   */
  pick(deadlineMs: number, only?: Endpoint, signal?: AbortSignal): Promise<Endpoint> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    const candidates = only !== undefined ? [only] : this.ordered();
    for (const ep of candidates) {
      if (ep.channel.getChannel().getConnectivityState(false) === State.READY) {
        if (only === undefined) this.active = this.endpoints.indexOf(ep);
        return Promise.resolve(ep);
      }
    }
    // Connect the preferred endpoint first; the others only if it fails or is slow, so a healthy
    // first endpoint is the one used and a client does not open a connection to every member.
    return new Promise<Endpoint>((resolve, reject) => {
      let settled = false;
      let escalated = candidates.length === 1;
      let waiting = 0;
      const started = new Set<Endpoint>();
      const finish = (err: Error | undefined, ep?: Endpoint): void => {
        if (settled) return;
        settled = true;
        clearTimeout(graceTimer);
        signal?.removeEventListener('abort', onAbort);
        if (err !== undefined) reject(err);
        else {
          if (only === undefined) this.active = this.endpoints.indexOf(ep!);
          resolve(ep!);
        }
      };
      const onAbort = (): void => finish(signal?.reason instanceof Error ? signal.reason : new UnavailableError('operation aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const escalate = (): void => {
        if (escalated || settled) return;
        escalated = true;
        for (const ep of candidates) start(ep);
      };
      const start = (ep: Endpoint): void => {
        if (started.has(ep)) return;
        started.add(ep);
        waiting += 1;
        watch(ep);
      };
      const watch = (ep: Endpoint): void => {
        if (settled) return;
        if (this.closed) return finish(new ClientClosedError());
        const ch = ep.channel.getChannel();
        const state = ch.getConnectivityState(true);
        if (state === State.READY) return finish(undefined, ep);
        if (state === State.SHUTDOWN) return finish(new ClientClosedError());
        if (state === State.TRANSIENT_FAILURE) escalate();
        if (Date.now() >= deadlineMs) {
          waiting -= 1;
          if (waiting === 0) {
            const names = candidates.map((c) => c.url).join(', ');
            finish(new UnavailableError(`no endpoint available within the dial timeout (${names})`));
          }
          return;
        }
        ch.watchConnectivityState(state, deadlineMs, () => watch(ep));
      };
      const graceMs = Math.min(endpointFailoverGraceMs, Math.max(0, (deadlineMs - Date.now()) / 2));
      const graceTimer = setTimeout(escalate, graceMs);
      start(candidates[0]);
    });
  }

  private ordered(): Endpoint[] {
    const n = this.endpoints.length;
    const out: Endpoint[] = [];
    for (let i = 0; i < n; i++) out.push(this.endpoints[(this.active + i) % n]);
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ep of this.endpoints) ep.channel.close();
  }
}
