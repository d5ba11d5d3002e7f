// RpcServer: a grpc-js server with go-zero's zRPC behaviour: the interceptor chain,
// health service, etcd registration once the port listens and health answers, and a
// graceful stop (NOT_SERVING → deregister → 1 s wrap-up → drain → hard stop at 5.5 s).
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { register as globalPromRegistry, type Registry as PromRegistry } from 'prom-client';
import { parseServerConf, type RpcServerConf } from '../config/rpc-config.js';
import { RegistryError, ServerStateError, toStatus } from '../errors.js';
import { HealthService, HealthClient, ServingStatus, healthServiceDefinition } from '../health/health-service.js';
import { BuiltinServerStage, builtinServerStage, type BuiltinStageOptions, type StageHandler } from '../interceptors/server-builtin.js';
import {
  authInterceptor,
  chainServer,
  tracingInterceptor,
  type ServerCallInfo,
  type TokenStore,
  type UnaryServerInterceptor,
} from '../interceptors/server-interceptors.js';
import { serverMetrics } from '../interceptors/metrics.js';
import { BreakerRegistry } from '../breaker/google-breaker.js';
import { AdaptiveShedder } from '../load/adaptive-shedder.js';
import { ProcessLoadProbe, type LoadProbe } from '../load/load-probe.js';
import { defaultRegistry } from '../discov/default-registry.js';
import type { Registry } from '../discov/registry.js';
import { Publisher } from '../discov/publisher.js';
import { advertiseAddress } from '../discov/internal-ip.js';
import { runInSpan } from '../trace/trace-context.js';
import { serviceLogger } from './service-logger.js';
import { startDevServer, startPrometheusAgent, type OpsServer } from './ops-http.js';

export const wrapUpTimeMs = 1_000;
export const hardStopTimeMs = 5_500;

export interface RpcServerOptions {
  logger?: Logger;
  /** Registry for etcd operations (default: ClientRegistry over @tsetcd/client for conf.Etcd). */
  registry?: Registry;
  /** prom-client registry for the rpc_server_* metrics (default: the global one). */
  metricsRegistry?: PromRegistry;
  /** Verifies app/token when conf.Auth is on. */
  tokenStore?: TokenStore;
  /** CPU / event-loop readings for shedding (default: ProcessLoadProbe). */
  loadProbe?: LoadProbe;
  /** User interceptors, run last (innermost). */
  interceptors?: UnaryServerInterceptor[];
  /** Network interface whose IPv4 is advertised when listening on 0.0.0.0. */
  interfaceName?: string;
  /** Metadata published on `<Key>.meta/<id>` (weight, zone, version...). */
  meta?: Record<string, unknown>;
  /** Registration lease TTL (default 10 s, go-zero's TimeToLive). */
  leaseTtlSec?: number;
  grpcOptions?: grpc.ServerOptions;
  credentials?: grpc.ServerCredentials;
  /** overrides conf.Shutdown.WrapUpTime */
  wrapUpTimeMs?: number;
  /** overrides conf.Shutdown.WaitTime */
  hardStopTimeMs?: number;
}

/** Call info with the AbortController made only if someone asks for the signal; it carries the reply callback. */
class UnaryCallInfo implements ServerCallInfo {
  readonly metadata: grpc.Metadata;
  readonly request: unknown;
  private controller: AbortController | undefined;
  span?: ServerCallInfo['span'];
  constructor(
    readonly method: string,
    readonly call: grpc.ServerUnaryCall<unknown, unknown>,
    readonly deadline: number,
    readonly reply: grpc.sendUnaryData<unknown>,
  ) {
    this.metadata = call.metadata;
    this.request = call.request;
  }
  get peer(): string {
    return this.call.getPeer();
  }
  get signal(): AbortSignal {
    if (!this.controller) {
      const c = (this.controller = new AbortController());
      if (this.call.cancelled) c.abort(new Error('cancelled'));
      else this.call.once('cancelled', () => c.abort(new Error('cancelled')));
    }
    return this.controller.signal;
  }
  abort(reason: unknown): void {
    if (!this.controller) this.controller = new AbortController();
    this.controller.abort(reason);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyHandler = (...args: any[]) => unknown;

export class RpcServer {
  readonly conf: RpcServerConf;
  readonly health = new HealthService();
  readonly breakers = new BreakerRegistry();
  readonly shedder: AdaptiveShedder | undefined;
  private readonly logger: Logger;
  private readonly closeLog: () => void;
  private readonly server: grpc.Server;
  private readonly probe: LoadProbe | undefined;
  private readonly ownsProbe: boolean;
  private readonly chain: UnaryServerInterceptor[];
  /** The built-in stage, run directly (callbacks, no promises) when nothing else is chained. */
  private readonly direct: BuiltinServerStage | undefined;
  private readonly services: Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]> = [];
  private registry: Registry | undefined;
  private publisher: Publisher | undefined;
  private state: 'new' | 'started' | 'stopping' | 'stopped' = 'new';
  private stopping: Promise<void> | undefined;
  private signalHandler: (() => void) | undefined;
  private inFlight = 0;
  private readonly opsServers: OpsServer[] = [];
  port = 0;
  /** bound ports of the Prometheus agent and the dev server (when configured) */
  prometheusPort: number | undefined;
  devServerPort: number | undefined;
  /** host:port published in etcd. */
  advertised = '';

  constructor(
    conf: RpcServerConf | Record<string, unknown>,
    private readonly opts: RpcServerOptions = {},
  ) {
    this.conf = parseServerConf(conf); // idempotent on an already parsed conf
    const own = opts.logger ? undefined : serviceLogger(this.conf.Log);
    this.logger = opts.logger ?? own!.logger;
    this.closeLog = own?.close ?? (() => undefined);
    // channelz off unless asked for (grpcOptions { 'grpc.enable_channelz': 1 }): see RpcClient
    this.server = new grpc.Server({ 'grpc.keepalive_permit_without_calls': 1, 'grpc.enable_channelz': 0, ...opts.grpcOptions });
    // go-zero's initMode: dev, test, rt and pre disable load shedding (load.Disable())
    if (this.conf.CpuThreshold > 0 && this.conf.Mode === 'pro') {
      this.ownsProbe = !opts.loadProbe;
      this.probe = opts.loadProbe ?? new ProcessLoadProbe();
      this.shedder = new AdaptiveShedder({ cpuThresholdMillicpu: this.conf.CpuThreshold, probe: this.probe });
    } else {
      this.ownsProbe = false;
    }
    const mw = this.conf.Middlewares;
    const stage: BuiltinStageOptions = {
      trace: mw.Trace,
      recover: mw.Recover,
      stat: mw.Stat,
      logger: this.logger,
      metrics: mw.Prometheus ? serverMetrics(opts.metricsRegistry) : undefined,
      breakers: mw.Breaker ? this.breakers : undefined,
      shedder: this.shedder,
      timeoutMs: this.conf.Timeout,
      methodTimeoutsMs: new Map(this.conf.MethodTimeouts.map((m) => [m.FullMethod, m.Timeout])),
    };
    const chain: UnaryServerInterceptor[] = [builtinServerStage(stage)];
    if (this.conf.Auth) {
      if (!opts.tokenStore) throw new ServerStateError('conf.Auth is on but no tokenStore was given');
      chain.push(authInterceptor(opts.tokenStore));
    }
    chain.push(...(opts.interceptors ?? []));
    this.chain = chain;
    this.direct = chain.length === 1 ? new BuiltinServerStage(stage) : undefined;
  }

  /** Registers a service; unary handlers may be grpc-js callback style or async (call) => response. */
  addService<I extends object>(service: grpc.ServiceDefinition<I>, impl: I): this {
    if (this.state !== 'new') throw new ServerStateError('addService after start');
    const wrapped: grpc.UntypedServiceImplementation = {};
    for (const [name, def] of Object.entries(service as grpc.ServiceDefinition)) {
      const original = (impl as Record<string, AnyHandler>)[name] ?? (impl as Record<string, AnyHandler>)[def.originalName ?? ''];
      if (typeof original !== 'function') continue;
      wrapped[name] = def.requestStream || def.responseStream ? this.wrapStream(def.path, original) : this.wrapUnary(def.path, original);
    }
    this.services.push([service as grpc.ServiceDefinition, wrapped]);
    this.health.set(service[Object.keys(service)[0] as keyof I]?.path.split('/')[1] ?? '', ServingStatus.SERVING);
    return this;
  }

  private wrapUnary(path: string, original: AnyHandler): grpc.handleUnaryCall<unknown, unknown> {
    // the handler, callback style or async (call) => response; done reports once
    const callHandler: StageHandler = (info, done) => {
      const ret = original((info as UnaryCallInfo).call, done);
      if (ret && typeof (ret as Promise<unknown>).then === 'function') (ret as Promise<unknown>).then((v) => (original.length < 2 ? done(null, v) : undefined), (e: unknown) => done(e));
    };
    const replyOk = (callback: grpc.sendUnaryData<unknown>, value: unknown) => {
      this.inFlight--;
      callback(null, value);
    };
    const replyErr = (callback: grpc.sendUnaryData<unknown>, err: unknown) => {
      this.inFlight--;
      const s = toStatus(err);
      callback({ code: s.code, details: s.details, metadata: s.metadata } as grpc.ServiceError);
    };
    const callInfo = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      this.inFlight++;
      const deadline = call.getDeadline();
      return new UnaryCallInfo(path, call, deadline instanceof Date ? deadline.getTime() : deadline, callback);
    };
    if (this.direct) {
      // the stage bound to this method once; one respond function for every call
      const stage = this.direct.method(path);
      const respond = (err: unknown, value: unknown, info: ServerCallInfo) => (err === undefined ? replyOk((info as UnaryCallInfo).reply, value) : replyErr((info as UnaryCallInfo).reply, err));
      return (call, callback) => stage.run(callInfo(call, callback), callHandler, respond);
    }
    const invoke = (info: ServerCallInfo) =>
      new Promise<unknown>((resolve, reject) => {
        let settled = false;
        callHandler(info, (err, value) => {
          if (settled) return;
          settled = true;
          if (err) reject(err);
          else resolve(value);
        });
      });
    const run = chainServer(this.chain, invoke);
    return (call, callback) => {
      run(callInfo(call, callback)).then(
        (value) => replyOk(callback, value),
        (err: unknown) => replyErr(callback, err),
      );
    };
  }

  private wrapStream(path: string, original: AnyHandler): AnyHandler {
    // Streams get tracing and app/token auth; the unary-only parts (breaker, shedding,
    // timeout) do not apply to long-lived streams.
    const auth = this.conf.Auth && this.opts.tokenStore ? authInterceptor(this.opts.tokenStore) : undefined;
    return (call: grpc.ServerWritableStream<unknown, unknown> & { metadata: grpc.Metadata }, ...rest: unknown[]) => {
      const controller = new AbortController();
      const info: ServerCallInfo = {
        method: path,
        metadata: call.metadata,
        request: undefined,
        peer: call.getPeer(),
        deadline: Infinity,
        signal: controller.signal,
        abort: (r) => controller.abort(r),
      };
      const start = () => {
        const out = original(call, ...rest);
        return Promise.resolve(out);
      };
      const traced = () => (this.conf.Middlewares.Trace ? tracingInterceptor(info, start) : start());
      const guarded = auth ? auth(info, traced) : traced();
      guarded.catch((err: unknown) => {
        const s = toStatus(err);
        const callback = rest[0];
        if (typeof callback === 'function') callback({ code: s.code, details: s.details });
        else call.emit('error', { code: s.code, details: s.details });
      });
    };
  }

  /** Binds, starts serving, waits for health to answer, then registers in etcd. */
  async start(opts: { installSignalHandlers?: boolean } = {}): Promise<{ port: number; address: string }> {
    if (this.state !== 'new') throw new ServerStateError(`start in state ${this.state}`);
    this.state = 'started';
    try {
      await this.startOpsServers();
    } catch (err) {
      await this.stop();
      throw err;
    }
    if (this.conf.Health) this.server.addService(healthServiceDefinition, this.health.implementation);
    for (const [def, impl] of this.services) this.server.addService(def, impl);
    const listen = this.conf.ListenOn.replace(/^https?:\/\//, '');
    this.port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(listen, this.opts.credentials ?? grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
    });
    const listenHost = listen.slice(0, listen.lastIndexOf(':'));
    this.advertised = advertiseAddress(this.conf.ListenOn, this.port, { interfaceName: this.opts.interfaceName });
    if (this.conf.Health) await this.waitHealthy(listenHost);
    if (this.conf.Etcd) {
      this.registry = this.opts.registry ?? defaultRegistry(this.conf.Etcd);
      this.publisher = new Publisher(this.registry, {
        key: this.conf.Etcd.Key,
        value: this.advertised,
        id: this.conf.Etcd.ID,
        meta: this.opts.meta,
        ttlSec: this.opts.leaseTtlSec,
        logger: this.logger,
      });
      try {
        await this.publisher.start();
      } catch (err) {
        await this.stop();
        throw new RegistryError(`rpc server ${this.conf.Name}: cannot register "${this.conf.Etcd.Key}" (${this.advertised}) in etcd at ${this.conf.Etcd.Hosts.join(',')}: ${(err as Error).message}`, { cause: err });
      }
    }
    if (opts.installSignalHandlers) {
      this.signalHandler = () => {
        this.logger.info('signal received, shutting down');
        void this.stop().then(() => process.exit(0));
      };
      process.once('SIGTERM', this.signalHandler);
      process.once('SIGINT', this.signalHandler);
    }
    this.logger.info({ listen: this.conf.ListenOn, port: this.port, advertised: this.advertised }, 'rpc server started');
    return { port: this.port, address: this.advertised };
  }

  /** go-zero's ServiceConf.SetUp: the Prometheus agent and the dev server, when configured. */
  private async startOpsServers(): Promise<void> {
    const registry = this.opts.metricsRegistry ?? globalPromRegistry;
    if (this.conf.Prometheus) {
      const s = await startPrometheusAgent(this.conf.Prometheus, registry);
      this.opsServers.push(s);
      this.prometheusPort = s.port;
      this.logger.info({ address: `${this.conf.Prometheus.Host}:${s.port}`, path: this.conf.Prometheus.Path }, 'Starting prometheus agent');
    }
    if (this.conf.DevServer) {
      const s = await startDevServer(this.conf.DevServer, registry, () => this.state === 'started' && this.health.get('') === ServingStatus.SERVING);
      this.opsServers.push(s);
      this.devServerPort = s.port;
      this.logger.info({ address: `${this.conf.DevServer.Host}:${s.port}` }, 'Starting dev http server');
    }
  }

  /** Asks our own health service over the network until it answers SERVING. */
  private async waitHealthy(listenHost: string): Promise<void> {
    const host = listenHost === '' || listenHost === '0.0.0.0' || listenHost === '[::]' ? '127.0.0.1' : listenHost;
    const client = new HealthClient(`${host}:${this.port}`, grpc.credentials.createInsecure());
    try {
      for (let attempt = 0; ; attempt++) {
        const ok = await new Promise<boolean>((resolve) => {
          client.makeUnaryRequest(
            healthServiceDefinition.Check.path,
            healthServiceDefinition.Check.requestSerialize,
            healthServiceDefinition.Check.responseDeserialize,
            { service: '' },
            { deadline: Date.now() + 1000 },
            (err, res) => resolve(!err && (res as { status?: ServingStatus } | undefined)?.status === ServingStatus.SERVING),
          );
        });
        if (ok) return;
        if (attempt >= 20) throw new ServerStateError('health service did not answer SERVING');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      client.close();
    }
  }

  /** go-zero's Publisher.Pause: deregisters from etcd (lease revoked) while still serving. */
  async pauseRegistration(): Promise<void> {
    if (!this.publisher) throw new ServerStateError('pauseRegistration: not registered in etcd (no Etcd conf, or not started)');
    await this.publisher.pause();
  }

  /** go-zero's Publisher.Resume: registers again (new lease). */
  async resumeRegistration(): Promise<void> {
    if (!this.publisher) throw new ServerStateError('resumeRegistration: not registered in etcd (no Etcd conf, or not started)');
    await this.publisher.resume();
  }

  get inFlightCalls(): number {
    return this.inFlight;
  }

  /** Graceful stop; safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.state = 'stopping';
    if (this.signalHandler) {
      process.off('SIGTERM', this.signalHandler);
      process.off('SIGINT', this.signalHandler);
    }
    this.health.shutdown();
    const hardStopMs = this.opts.hardStopTimeMs ?? this.conf.Shutdown.WaitTime;
    const hardStop = setTimeout(() => this.server.forceShutdown(), hardStopMs);
    try {
      if (this.publisher) {
        await this.publisher.stop();
        await new Promise((r) => setTimeout(r, this.opts.wrapUpTimeMs ?? this.conf.Shutdown.WrapUpTime));
      }
      this.health.closeWatchers();
      await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    } finally {
      clearTimeout(hardStop);
      await Promise.all(this.opsServers.splice(0).map((o) => o.close()));
      if (!this.opts.registry) this.registry?.close();
      if (this.ownsProbe) this.probe?.close();
      this.state = 'stopped';
      this.logger.info('rpc server stopped');
      this.closeLog();
    }
  }
}

export type { ServerCallInfo, UnaryServerInterceptor, TokenStore };
export { runInSpan };
