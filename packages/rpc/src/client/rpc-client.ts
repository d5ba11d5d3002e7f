// RpcClient: one grpc-js channel to a service found through etcd (or given directly),
// balanced with p2c_ewma, with go-zero's client interceptors. Create typed service
// clients on it with service(ServiceClientConstructor).
import * as grpc from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import type { Registry as PromRegistry } from 'prom-client';
import { parseClientConf, type RpcClientConf } from '../config/rpc-config.js';
import { RpcError } from '../errors.js';
import { BreakerRegistry } from '../breaker/google-breaker.js';
import { clientCallTransformer } from '../interceptors/client-interceptor.js';
import { clientMetrics } from '../interceptors/metrics.js';
import { registerBalancers, serviceConfigFor, type BalancerConfigJson } from '../balancer/grpc-balancer.js';
import { buildDiscovTarget, discoveryState, etcdConfOption, registerEtcdConf, registerResolvers, subsetSizeOption, unregisterEtcdConf } from '../discov/resolvers.js';
import type { Registry } from '../discov/registry.js';

/** Why create() found no ready server: etcd unreachable, nothing registered, or none reachable. */
export type DialFailure = 'etcd-unreachable' | 'no-server-registered' | 'servers-unreachable';

export class DialError extends RpcError {
  override readonly code = 'RPC_DIAL';
  constructor(
    message: string,
    readonly reason: DialFailure,
  ) {
    super(message);
  }
}

export interface RpcClientOptions {
  logger?: Logger;
  metricsRegistry?: PromRegistry;
  /** extra grpc-js interceptors, run after the built-in ones */
  interceptors?: grpc.Interceptor[];
  /** balancer settings (breakerPerServer, hashHeader) */
  balancer?: BalancerConfigJson;
  /** registry factory for discovery (default: ClientRegistry over @tsetcd/client for conf.Etcd) */
  registry?: () => Registry;
  /** max servers per client (default 32) */
  subsetSize?: number;
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  /** how long create() waits for a ready connection unless NonBlock (default 5 s) */
  dialTimeoutMs?: number;
}

type ClientCtor<C> = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => C;

export class RpcClient {
  readonly conf: RpcClientConf;
  readonly target: string;
  readonly breakers = new BreakerRegistry();
  private readonly channel: grpc.Channel;
  private readonly interceptors: grpc.Interceptor[];
  private readonly transformer: grpc.CallInvocationTransformer;
  private readonly credentials: grpc.ChannelCredentials;
  private readonly confId: string | undefined;
  private readonly clients: grpc.Client[] = [];
  private closed = false;

  private constructor(conf: RpcClientConf, opts: RpcClientOptions) {
    registerResolvers();
    registerBalancers();
    this.conf = conf;
    const logger = opts.logger ?? pino({ level: process.env.RPC_LOG_LEVEL ?? 'info', name: 'rpc-client' });
    const channelOptions: grpc.ChannelOptions = {
      'grpc.service_config': serviceConfigFor(conf.BalancerName, conf.BalancerName === 'p2c_ewma' || conf.BalancerName === 'consistent_hash' ? (opts.balancer ?? {}) : {}),
      // grpc-js's channelz bookkeeping (per-call trackers, closures and timestamps, several µs
      // a call) serves only its admin service, which go-zero does not have; opt back in with
      // channelOptions { 'grpc.enable_channelz': 1 }
      'grpc.enable_channelz': 0,
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': 5_000,
      ...(conf.KeepaliveTime > 0 ? { 'grpc.keepalive_time_ms': conf.KeepaliveTime } : {}),
      ...(opts.subsetSize ? { [subsetSizeOption]: opts.subsetSize } : {}),
      ...opts.channelOptions,
    };
    if (conf.Etcd) {
      this.confId = registerEtcdConf(conf.Etcd, opts.registry);
      channelOptions[etcdConfOption] = this.confId;
      this.target = buildDiscovTarget(conf.Etcd.Hosts, conf.Etcd.Key);
    } else if (conf.Endpoints) {
      this.target = `direct:///${conf.Endpoints.join(',')}`;
    } else {
      this.target = conf.Target!;
    }
    this.credentials = opts.credentials ?? grpc.credentials.createInsecure();
    this.channel = new grpc.Channel(this.target, this.credentials, channelOptions);
    const mw = conf.Middlewares;
    // the built-in chain runs as each call is made; user interceptors follow it
    this.transformer = clientCallTransformer({
      target: this.target,
      trace: mw.Trace,
      duration: mw.Duration,
      logger,
      metrics: mw.Prometheus ? clientMetrics(opts.metricsRegistry) : undefined,
      breakers: mw.Breaker ? this.breakers : undefined,
      timeoutMs: mw.Timeout ? conf.Timeout : 0,
      app: conf.App,
      token: conf.Token,
    });
    this.interceptors = opts.interceptors ?? [];
  }

  /** Creates the client; unless conf.NonBlock, waits until a server is connected. */
  static async create(conf: RpcClientConf | Record<string, unknown>, opts: RpcClientOptions = {}): Promise<RpcClient> {
    const parsed = parseClientConf(conf); // idempotent on an already parsed conf
    const client = new RpcClient(parsed, opts);
    if (!parsed.NonBlock) {
      try {
        await client.waitForReady(opts.dialTimeoutMs ?? 5_000);
      } catch (err) {
        client.close();
        throw err;
      }
    }
    return client;
  }

  /** Resolves when the channel is READY (some server connected). */
  waitForReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const check = () => {
        const state = this.channel.getConnectivityState(true);
        if (state === grpc.connectivityState.READY) return resolve();
        if (Date.now() >= deadline) return reject(this.dialError(timeoutMs));
        this.channel.watchConnectivityState(state, Math.min(deadline, Date.now() + 250), () => check());
      };
      check();
    });
  }

  /** Names what failed: etcd (with its endpoints), the registration, or the servers found. */
  private dialError(timeoutMs: number): DialError {
    const prefix = `rpc dial ${this.target}`;
    const d = discoveryState(this.target, this.confId);
    if (d !== undefined) {
      const hosts = d.hosts.join(',');
      if (!d.listed) {
        return new DialError(`${prefix}: etcd unreachable at ${hosts}: no answer within ${timeoutMs} ms${d.lastError ? ` (${d.lastError})` : ''}`, 'etcd-unreachable');
      }
      if (d.addresses.length === 0) {
        return new DialError(`${prefix}: no server registered under "${d.key}/" in etcd at ${hosts} within ${timeoutMs} ms`, 'no-server-registered');
      }
      return new DialError(`${prefix}: ${d.addresses.length} server(s) registered under "${d.key}/" (${d.addresses.join(', ')}), none reachable within ${timeoutMs} ms`, 'servers-unreachable');
    }
    return new DialError(`${prefix}: no server reachable within ${timeoutMs} ms`, 'servers-unreachable');
  }

  /** A typed service client (e.g. ts-proto's GreeterClient) sharing this channel and chain. */
  service<C extends grpc.Client>(ctor: ClientCtor<C>): C {
    const c = new ctor(this.target, this.credentials, { channelOverride: this.channel, interceptors: this.interceptors, callInvocationTransformer: this.transformer });
    this.clients.push(c);
    return c;
  }

  get connectivityState(): grpc.connectivityState {
    return this.channel.getConnectivityState(false);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel.close();
    if (this.confId) unregisterEtcdConf(this.confId);
  }
}

/** Promise wrapper for a grpc-js unary method: await unary(client.sayHello.bind(client), req). */
export function unary<Req, Res>(
  fn: (req: Req, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown,
  req: Req,
  options: Partial<grpc.CallOptions> & { metadata?: grpc.Metadata } = {},
): Promise<Res> {
  const { metadata = new grpc.Metadata(), ...callOptions } = options;
  return new Promise((resolve, reject) => {
    fn(req, metadata, callOptions, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}
