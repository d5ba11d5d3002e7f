// The sections of `tsetcd --help`, in etcd 3.4's order; flags not listed here are printed under
// "Other" so that a flag added to the table always shows up.

export const helpHeader = `Usage:

  tsetcd [flags]
    Start a tsetcd (etcd 3.4 compatible) server.

  tsetcd --version
    Show the version of etcd (tsetcd reports 3.4.23).

  tsetcd -h | --help
    Show the help information about tsetcd.

  tsetcd --config-file
    Path to the server configuration file. Note that if a configuration file is provided, other command line flags and environment variables will be ignored.

  tsetcd gateway
    Run the stateless pass-through etcd TCP connection forwarding proxy.

  tsetcd grpc-proxy
    Run the stateless etcd v3 gRPC L7 reverse proxy.
`;

export const helpSections: Array<[string, string[]]> = [
  ['Member', ['name', 'data-dir', 'wal-dir', 'snapshot-count', 'heartbeat-interval', 'election-timeout', 'initial-election-tick-advance', 'listen-peer-urls', 'listen-client-urls', 'max-snapshots', 'max-wals', 'quota-backend-bytes', 'backend-batch-interval', 'backend-batch-limit', 'max-txn-ops', 'max-request-bytes', 'max-concurrent-streams', 'grpc-keepalive-min-time', 'grpc-keepalive-interval', 'grpc-keepalive-timeout']],
  ['Clustering', ['initial-advertise-peer-urls', 'initial-cluster', 'initial-cluster-state', 'initial-cluster-token', 'advertise-client-urls', 'discovery', 'discovery-fallback', 'discovery-proxy', 'discovery-srv', 'discovery-srv-name', 'strict-reconfig-check', 'pre-vote', 'auto-compaction-retention', 'auto-compaction-mode', 'enable-v2']],
  ['Security', ['cert-file', 'key-file', 'client-cert-auth', 'client-crl-file', 'client-cert-allowed-hostname', 'trusted-ca-file', 'auto-tls', 'peer-cert-file', 'peer-key-file', 'peer-client-cert-auth', 'peer-trusted-ca-file', 'peer-cert-allowed-cn', 'peer-cert-allowed-hostname', 'peer-auto-tls', 'peer-crl-file', 'cipher-suites', 'cors', 'host-whitelist']],
  ['Auth', ['auth-token', 'bcrypt-cost', 'auth-token-ttl']],
  ['Profiling and Monitoring', ['enable-pprof', 'metrics', 'listen-metrics-urls']],
  ['Logging', ['logger', 'log-outputs', 'log-level']],
  ['v2 Proxy (to be deprecated in v4)', ['proxy', 'proxy-failure-wait', 'proxy-refresh-interval', 'proxy-dial-timeout', 'proxy-write-timeout', 'proxy-read-timeout']],
  ['Experimental feature', ['experimental-initial-corrupt-check', 'experimental-corrupt-check-time', 'experimental-enable-v2v3', 'experimental-backend-bbolt-freelist-type', 'experimental-enable-lease-checkpoint', 'experimental-enable-lease-checkpoint-persist', 'experimental-compaction-batch-limit', 'experimental-peer-skip-client-san-verification', 'experimental-watch-progress-notify-interval', 'experimental-warning-apply-duration', 'experimental-snapshot-catchup-entries']],
  ['Unsafe feature', ['force-new-cluster', 'unsafe-no-fsync']],
  ['TO BE DEPRECATED', ['debug', 'log-package-levels', 'log-output', 'enable-grpc-gateway']],
];
