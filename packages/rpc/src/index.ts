// @tsetcd/rpc: go-zero's zRPC for Node — etcd service registration and discovery,
// p2c_ewma balancing, Google SRE breaker, adaptive shedding, limiters, interceptors.
// `grpc` is the @grpc/grpc-js this package runs on (a peer dependency, so the code rpc-gen
// writes and the user's own code share it): credentials, Metadata, status codes.
export * as grpc from '@grpc/grpc-js';
export * from './errors.js';
export { RpcServer, wrapUpTimeMs, hardStopTimeMs, type RpcServerOptions } from './server/rpc-server.js';
export { RpcClient, DialError, unary, type RpcClientOptions, type DialFailure } from './client/rpc-client.js';
export {
  parseServerConf,
  parseClientConf,
  loadServerConf,
  loadClientConf,
  type RpcServerConf,
  type RpcClientConf,
  type Mode,
  type MethodTimeoutConf,
  type ServerMiddlewaresConf,
  type ClientMiddlewaresConf,
  type LogConf,
  type PrometheusConf,
  type DevServerConf,
  type ShutdownConf,
  type LoadOptions,
} from './config/rpc-config.js';
export { parseDurationMs, parseGoDurationMs } from './config/duration.js';
export { expandEnv } from './config/env-expand.js';
export { serviceLogger, type ServiceLogger } from './server/service-logger.js';
export type { EtcdConf } from './discov/etcd-auth.js';
export { prefixEnd, type Registry, type RegistryKeyValue, type RegistryEvent, type RegistryWatch, type RegistryWatchBatch, type LeaseKeeper } from './discov/registry.js';
export { ClientRegistry, clientOptionsFor } from './discov/client-registry.js';
export { defaultRegistry } from './discov/default-registry.js';
export { Publisher, registrationTtlSec, reregisterIntervalMs, type PublisherOptions, type PublisherState } from './discov/publisher.js';
export { Subscriber, relistIntervalMs } from './discov/subscriber.js';
export { stableSubset, subsetSize } from './discov/subset.js';
export { internalIp, advertiseAddress } from './discov/internal-ip.js';
export { registerResolvers, parseEtcdTarget, buildDiscovTarget, discoveryState, type DiscoveryState, registerEtcdConf, unregisterEtcdConf, etcdConfOption, subsetSizeOption } from './discov/resolvers.js';
export { registerBalancers, serviceConfigFor, consistentHashName, defaultHashHeader, type BalancerConfigJson } from './balancer/grpc-balancer.js';
export { P2c, ServerStats, nanoClock, p2cName, decayTimeNs, forcePickNs, initSuccess, throttleSuccess, penalty, pickTimes } from './balancer/p2c-picker.js';
export { HashRing, fnv1a, hashReplicas } from './balancer/consistent-hash.js';
export { failureCodes, acceptable } from './balancer/failure-codes.js';
export {
  GoogleBreaker,
  BreakerRegistry,
  breakerWindowMs,
  breakerBuckets,
  breakerForcePassMs,
  breakerK,
  breakerMinK,
  breakerProtection,
  type BreakerHistory,
} from './breaker/google-breaker.js';
export { AdaptiveShedder, shedderWindowMs, shedderBuckets, shedderCoolOffMs, type ShedderPromise } from './load/adaptive-shedder.js';
export { ManualLoadProbe, ProcessLoadProbe, type LoadProbe } from './load/load-probe.js';
export { MemoryLimitStore, type LimitStore } from './limit/limit-store.js';
export { PeriodLimiter, PeriodResult, type PeriodLimiterOptions } from './limit/period-limiter.js';
export { TokenLimiter, type TokenLimiterOptions } from './limit/token-limiter.js';
export {
  chainServer,
  tracingInterceptor,
  recoverInterceptor,
  statsInterceptor,
  prometheusInterceptor,
  breakerInterceptor,
  sheddingInterceptor,
  timeoutInterceptor,
  authInterceptor,
  rateLimitInterceptor,
  MemoryTokenStore,
  defaultTimeoutMs,
  slowThresholdMs,
  type ServerCallInfo,
  type UnaryServerInterceptor,
  type TokenStore,
} from './interceptors/server-interceptors.js';
export { clientInterceptor, clientCallTransformer, breakerOpenDetails, type ClientChainOptions } from './interceptors/client-interceptor.js';
export { BuiltinServerStage, MethodStage, builtinServerStage, type BuiltinStageOptions, type StageHandler, type StageRespond } from './interceptors/server-builtin.js';
export { DeadlineWheel, deadlineTickMs, type WheelEntry } from './internal/deadline-wheel.js';
export { serverMetrics, clientMetrics, durationBucketsMs, type RpcMetrics } from './interceptors/metrics.js';
export { HealthService, HealthClient, ServingStatus, healthServiceDefinition, type HealthCheckRequest, type HealthCheckResponse } from './health/health-service.js';
export { currentSpan, enableSpanPropagation, spanPropagationEnabled, startSpan, runInSpan, callInSpan, childOfSpan, parseTraceparent, formatTraceparent, traceparentHeader, type SpanContext } from './trace/trace-context.js';
export { RollingWindow, SumBucket } from './internal/rolling-window.js';
