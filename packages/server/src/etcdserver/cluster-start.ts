// Wiring a member into a cluster: decide how it bootstraps (from --initial-cluster, new or
// existing), then build its cluster layer (the Cluster API logic and the peer transport) as
// EtcdServer starts.

import { join } from 'node:path';
import { Wal } from '../wal/index.js';
import type { EtcdServer } from './server.js';
import type { ClusterBootstrap } from './cluster-bootstrap.js';
import { ClusterOps } from './cluster-ops.js';
import { LeaderForward } from './leader-forward.js';
import { ClusterHost } from './cluster-host.js';
import { PeerTransport } from '../rafthttp/peer-transport.js';
import { clientTlsOptions, type TlsInfo } from '../tls/tls-info.js';
import { findSelf, newInitialCluster, parseInitialCluster } from '../membership/initial-cluster.js';
import { fetchRemoteCluster, validateJoin } from '../membership/remote-cluster.js';
import { BootstrapError } from '../membership/errors.js';
import { Errors } from '../errors.js';
import { joinDiscovery, parseDiscoveryProxy } from '../membership/discovery.js';
import { computeMemberId } from '@tsetcd/common';
import { silentLogger, type ServerLogger } from './config.js';
import { srvInitialCluster } from '../membership/srv-discovery.js';

export interface ClusterStartOptions {
  name: string;
  dataDir: string;
  walDir?: string;
  /** etcd --initial-cluster ("name=url,...") */
  initialCluster: string;
  /** etcd --discovery: a v2 discovery URL; replaces --initial-cluster (token = the URL) */
  discovery?: string;
  initialClusterState: 'new' | 'existing';
  initialClusterToken: string;
  initialAdvertisePeerUrls: string[];
  /** peer TLS (etcd --peer-cert-file, ..., --peer-auto-tls): used to ask the cluster when joining */
  peerTls?: TlsInfo;
  /** etcd --discovery-proxy: HTTP proxy for the --discovery traffic */
  discoveryProxy?: string;
  /** etcd --discovery-srv / --discovery-srv-name: the initial cluster from DNS SRV records */
  discoverySrv?: string;
  discoverySrvName?: string;
  log?: ServerLogger;
}

/**
 * How a member without a WAL starts (undefined when the data dir already holds one: a restart
 * ignores --initial-cluster, as etcd does).
 */
export async function planBootstrap(o: ClusterStartOptions): Promise<ClusterBootstrap | undefined> {
  const walDir = o.walDir || join(o.dataDir, 'member', 'wal');
  if (await Wal.exists(walDir)) return undefined;
  if (o.discovery) {
    // etcd: the discovery URL is the cluster token; this member registers as "name=url,..."
    const selfId = computeMemberId(o.initialAdvertisePeerUrls, o.discovery);
    const selfConfig = o.initialAdvertisePeerUrls.map((u) => `${o.name}=${u}`).join(',');
    const proxy = parseDiscoveryProxy(o.discoveryProxy ?? '');
    if (proxy !== undefined) o.log?.info('running proxy with discovery', { 'proxy-url': proxy.href });
    const str = await joinDiscovery(o.discovery, selfId.toString(16), selfConfig, undefined, proxy);
    const ic = newInitialCluster(parseInitialCluster(str), o.discovery);
    const self = findSelf(ic, o.name, o.initialAdvertisePeerUrls);
    return { memberId: self.id, clusterId: ic.clusterId, join: false, members: ic.members.map((m) => ({ id: m.id, name: m.name, peerUrls: m.peerUrls, clientUrls: [], isLearner: false })) };
  }
  const initialCluster = o.discoverySrv
    ? await srvInitialCluster({ domain: o.discoverySrv, serviceName: o.discoverySrvName ?? '', name: o.name, advertisePeerUrls: o.initialAdvertisePeerUrls, log: o.log ?? silentLogger })
    : o.initialCluster;
  const local = parseInitialCluster(initialCluster);
  if (o.initialClusterState === 'new') {
    const ic = newInitialCluster(local, o.initialClusterToken);
    const self = findSelf(ic, o.name, o.initialAdvertisePeerUrls);
    return {
      memberId: self.id,
      clusterId: ic.clusterId,
      join: false,
      members: ic.members.map((m) => ({ id: m.id, name: m.name, peerUrls: m.peerUrls, clientUrls: [], isLearner: false })),
    };
  }
  const selfUrls = local.get(o.name);
  if (selfUrls === undefined) throw new BootstrapError(`couldn't find local name "${o.name}" in the initial cluster configuration`);
  const others = [...local.entries()].filter(([n]) => n !== o.name).flatMap(([, urls]) => urls);
  if (others.length === 0) throw new BootstrapError('cannot join an existing cluster: --initial-cluster lists no other member');
  const remote = await fetchRemoteCluster(others, o.peerTls ? clientTlsOptions(o.peerTls) : undefined);
  const memberId = validateJoin(local, remote, o.name);
  return { memberId, clusterId: remote.clusterId, join: true, members: remote.members };
}

export interface ClusterLayer {
  /** the Cluster API's logic */
  ops: ClusterOps;
  /** what a follower asks of the leader (lease renewals) */
  leader: LeaderForward;
  transport: PeerTransport | undefined;
  /** bound peer URLs */
  peerUrls: string[];
  close(): Promise<void>;
}

/**
 * The cluster layer of a member: ClusterOps and (when peer URLs are given) the peer transport,
 * listening. EtcdServer.start() calls it (its `transport` option) once the member knows its ID
 * and members, before raft starts.
 */
export async function startClusterLayer(
  server: EtcdServer,
  o: { listenPeerUrls?: string[]; tls?: TlsInfo; log: ServerLogger; onRemovedSelf?: () => void },
): Promise<ClusterLayer> {
  const listenPeerUrls = o.listenPeerUrls ?? [];
  let transport: PeerTransport | undefined;
  const newTransport = (ops: ClusterOps): PeerTransport => (transport = new PeerTransport({ host: new ClusterHost(server, ops), listenPeerUrls, tls: o.tls, log: o.log }));
  const ops = new ClusterOps(server, { onRemovedSelf: o.onRemovedSelf, peers: listenPeerUrls.length > 0 ? newTransport : undefined });
  const peers = transport as PeerTransport | undefined;
  const close = async (): Promise<void> => {
    ops.close(Errors.stopped());
    await peers?.close();
  };
  if (peers !== undefined) {
    try {
      await peers.listen();
    } catch (e) {
      await close();
      throw e;
    }
    for (const u of peers.boundUrls) o.log.info('serving peer traffic', { address: new URL(u).host });
  }
  return { ops, leader: new LeaderForward(server, peers), transport: peers, peerUrls: peers?.boundUrls ?? [], close };
}
