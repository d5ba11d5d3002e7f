// Client construction options and their defaults (named limits carry their unit).
import type { ChannelOptions } from '@grpc/grpc-js';

export interface TlsOptions {
  /** PEM CA bundle used to verify servers (default: Node's root store). */
  ca?: Buffer | string;
  /** PEM client certificate, for mutual TLS. */
  cert?: Buffer | string;
  /** PEM private key matching `cert`. */
  key?: Buffer | string;
  /** Skip server certificate verification (like etcdctl --insecure-skip-tls-verify). */
  insecureSkipVerify?: boolean;
  /** Override the name checked in the server certificate. */
  serverName?: string;
}

export interface ClientOptions {
  /** "host:port", "http://host:port" or "https://host:port"; a comma-separated string is accepted. */
  endpoints: string[] | string;
  /** Milliseconds to wait for a connection to any endpoint before failing with UnavailableError. */
  dialTimeout?: number;
  /** Default per-call deadline in milliseconds for unary calls (none when undefined). */
  requestTimeout?: number;
  /** TLS settings; used for https:// endpoints and for bare host:port endpoints when given. */
  tls?: TlsOptions;
  /** With `password`: authenticate and send the token with every call. */
  username?: string;
  password?: string;
  /** gRPC keepalive ping period in milliseconds (etcdctl --keepalive-time). */
  keepAliveTime?: number;
  /** gRPC keepalive ping timeout in milliseconds (etcdctl --keepalive-timeout). */
  keepAliveTimeout?: number;
  /** Largest request the client sends, in bytes (clientv3 default 2 MiB). */
  maxCallSendBytes?: number;
  /** Largest response the client accepts, in bytes (clientv3 default: 2 GiB - 1). */
  maxCallRecvBytes?: number;
  /**
   * Watch streams carry etcd's "hasleader" requirement (default true): a member that loses its
   * leader ends the stream, and watchers move to a member that has one.
   */
  watchRequireLeader?: boolean;
  /** Extra grpc-js channel options. */
  grpcOptions?: Partial<ChannelOptions>;
}

export const dialTimeoutDefaultMs = 5_000;
export const maxCallSendBytesDefault = 2 * 1024 * 1024;
export const maxCallRecvBytesDefault = 2_147_483_647;
/** Pause between reconnection attempts of long-lived streams (watch, keepalive): first and cap. */
export const streamRetryInitialMs = 50;
export const streamRetryMaxMs = 1_000;
/** Unary read retries across endpoints before the error is surfaced. */
export const unaryRetriesMax = 6;
