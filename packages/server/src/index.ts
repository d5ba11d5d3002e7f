// @tsetcd/server: one etcd-compatible member. Start one from code with startServer();
// throw-away test clusters from @tsetcd/server/testing (startCluster);
// subsystems are importable by subpath (@tsetcd/server/mvcc/store, .../wal/index, ...).
export { startServer, type StartServerOptions, type Member } from './embed/index.js';
export { EtcdServer, type Transport } from './etcdserver/server.js';
export { RaftCluster, type MemberInfo } from './membership/raft-cluster.js';
export { defaults, serverVersion, clusterVersion, type ServerConfig, type ServerLogger } from './etcdserver/config.js';
export { computeMemberId, computeClusterId } from '@tsetcd/common';
export { parseRetention, type Retention } from './etcdserver/compactor.js';
export { createZapLogger, type LogLevel } from './embed/zap-logger.js';
export { ServerError, Errors, GrpcCode, isServerError } from './errors.js';
