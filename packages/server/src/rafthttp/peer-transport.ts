// The peer transport: sends raft messages to the other members over their peer URLs and serves
// this member's peer URLs (streams, pipeline, snapshots, /members, /version). etcd's rafthttp:
//   - per peer, two long-lived streams, each dialed by the RECEIVER: this member GETs
//     /raft/stream/msgapp/<own ID> and /raft/stream/message/<own ID> on the peer's URL and reads
//     what the peer writes into the answers; the peer's dials here carry this member's messages
//     to it (MsgApp on "msgapp", everything else on "message", so a big append never delays a
//     heartbeat). A fault at one member's advertised address therefore silences what that
//     member sends, as with etcd;
//   - while no stream is attached, messages go one per POST /raft (etcd's pipeline);
//   - MsgSnap goes in its own POST whose body is the encoded message followed by the backend
//     database, streamed with back-pressure (pipeline) and reported to raft when done;
//   - dropped messages are reported to raft as unreachable (it probes instead of pipelining).
// Receiving: the routes below, served through createPeerHandler (peer-handler.ts), which admits
// the sender and answers whatever a handler throws on that connection.

import * as http from 'node:http';
import * as https from 'node:https';
import { createReadStream, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { AddressInfo } from 'node:net';
import { MessageType, type Message } from '@tsetcd/raft';
import { Peer } from './peer.js';
import { encodeMessageFrame } from './framing.js';
import { PeerHeader, PeerPath, PeerVersion } from './peer-headers.js';
import { PeerRefusal, PeerStatusError, RaftHttpError } from './errors.js';
import { createPeerHandler, type PeerRoute } from './peer-handler.js';
import { parseHexId } from './peer-checks.js';
import { readBody } from './peer-http.js';
import { serveStreamDial, streamAdmission } from './stream-handler.js';
import { servePipeline } from './inbound-pipeline.js';
import { receiveSnapshot } from './inbound-snapshot.js';
import { peerRequest, type PeerAnswer } from './peer-request.js';
import { peerTlsServer } from './peer-tls-server.js';
import { clientTlsOptions, type TlsInfo } from '../tls/tls-info.js';

/** What the transport needs from the member it serves (EtcdServer implements it). */
export interface RaftHost {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  /** a message from a peer */
  step(m: Message): void;
  reportUnreachable(id: bigint): void;
  reportSnapshot(id: bigint, ok: boolean): void;
  /** a proposal forwarded to the leader that provably never left (the leader refused the connection) */
  proposalUndelivered?(m: Message): void;
  /** peer URLs of a current member (undefined: not a member) */
  peerUrlsOf(id: bigint): string[] | undefined;
  isRemovedMember(id: bigint): boolean;
  /** writes a copy of the backend to send with MsgSnap `m`; the transport deletes it when sent */
  snapshotDbFile(m: Message): Promise<string>;
  /** installs a received snapshot (database file + MsgSnap), then steps the message */
  receiveSnapshot(m: Message, dbFile: string): Promise<void>;
  /** where incoming snapshot databases are written */
  snapshotDir(): string;
  /** etcd's peer /members answer: the members as JSON */
  membersJson(): string;
  /** versions for /version */
  versions(): { etcdserver: string; etcdcluster: string };
  /** renews a lease on the leader for a follower (-1: no such lease); throws when not leader */
  leaseRenew?(id: bigint): number;
  /** a peer answered that this member was removed from the cluster (HTTP 410) */
  removedByPeer?(): void;
  /** promotes a learner (peer endpoint used by followers to reach the leader) */
  promoteMember?(id: bigint): Promise<string>;
  /** etcd's peer /members/hashkv: the KV hash at a revision (0: current); throws mvcc errors */
  hashKV?(rev: bigint): Promise<{ hash: number; revision: bigint; compactRevision: bigint }>;
}

export interface PeerTransportOptions {
  host: RaftHost;
  listenPeerUrls: string[];
  /** peer TLS settings (etcd --peer-*-file, --peer-auto-tls, allowed CN/hostname, CRL, ciphers) */
  tls?: TlsInfo;
  log?: { info(m: string, f?: Record<string, unknown>): void; warn(m: string, f?: Record<string, unknown>): void };
}

/** Largest body of a forwarded lease renewal. */
const maxLeaseRequestBytes = 4096;
/** Largest body of a /members/hashkv request (a JSON HashKVRequest). */
const maxHashKVRequestBytes = 4096;

export class PeerTransport {
  private readonly o: PeerTransportOptions;
  private readonly peers = new Map<bigint, Peer>();
  private readonly servers: http.Server[] = [];
  private closed = false;
  /** isolate(true): a network partition around this member (tests) */
  private isolated = false;
  /** bound peer URLs (port 0 replaced) */
  boundUrls: string[] = [];

  constructor(o: PeerTransportOptions) {
    this.o = o;
  }

  private get host(): RaftHost {
    return this.o.host;
  }

  // ---- listening ----

  async listen(): Promise<void> {
    // isolated (tests' partitions): new peer requests are answered 503, as when closed
    const handler = createPeerHandler(this.routes(), this.host, { closed: () => this.closed || this.isolated, log: this.o.log });
    const out: string[] = [];
    for (const raw of this.o.listenPeerUrls) {
      const u = new URL(raw.replace('://localhost:', '://127.0.0.1:'));
      // etcd: a unix:// (unixs:// with TLS) URL listens on a socket named by its host:port, in the cwd
      const unixPath = u.protocol === 'unix:' || u.protocol === 'unixs:' ? new URL(raw).host : undefined;
      let srv: http.Server;
      if (u.protocol === 'https:' || u.protocol === 'unixs:') {
        const t = this.o.tls;
        if (t === undefined) throw new Error('TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for peer url with HTTPS scheme');
        srv = peerTlsServer(t, handler, this.o.log);
      } else {
        srv = http.createServer(handler);
      }
      srv.keepAliveTimeout = 0;
      srv.requestTimeout = 0;
      srv.headersTimeout = 10_000;
      this.servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        const done = (): void => {
          srv.off('error', reject);
          resolve();
        };
        if (unixPath !== undefined) {
          rmSync(unixPath, { force: true });
          srv.listen(unixPath, done);
        } else srv.listen(Number(u.port || (u.protocol === 'https:' ? 443 : 80)), u.hostname, done);
      });
      if (unixPath !== undefined) {
        out.push(raw.replace(/\/$/, ''));
        continue;
      }
      u.port = String((srv.address() as AddressInfo).port);
      out.push(u.toString().replace(/\/$/, ''));
    }
    this.boundUrls = out;
  }

  // ---- sending ----

  send(msgs: Message[]): void {
    if (this.closed) return;
    if (this.isolated) {
      for (const id of new Set(msgs.map((m) => m.to))) if (id !== this.host.memberId) this.host.reportUnreachable(id);
      return;
    }
    let unreachable: Set<bigint> | undefined;
    for (const m of msgs) {
      if (m.to === this.host.memberId) continue;
      const peer = this.peer(m.to);
      if (peer === undefined) continue;
      if (m.type === MessageType.MsgSnap) {
        void this.sendSnapshot(peer, m);
        continue;
      }
      if (peer.send(m)) continue;
      (unreachable ??= new Set()).add(m.to);
      if (m.type === MessageType.MsgProp) this.host.proposalUndelivered?.(m);
    }
    if (unreachable) for (const id of unreachable) this.host.reportUnreachable(id);
  }

  /** The peer if `id` is a member (created on first use: it starts dialing the peer's streams). */
  private peer(id: bigint): Peer | undefined {
    let p = this.peers.get(id);
    if (p !== undefined) return p;
    if (this.closed || this.isolated || id === this.host.memberId || this.host.peerUrlsOf(id) === undefined) return undefined;
    p = new Peer(id, {
      dir: this.host,
      localUrls: () => this.host.peerUrlsOf(this.host.memberId) ?? this.boundUrls,
      tls: this.clientTls(),
      step: (m) => this.host.step(m),
      reportUnreachable: (to) => this.host.reportUnreachable(to),
      undelivered: (m) => this.host.proposalUndelivered?.(m),
      removed: () => this.host.removedByPeer?.(),
      log: this.o.log,
    });
    this.peers.set(id, p);
    return p;
  }

  private dialTls: https.RequestOptions | undefined;

  private clientTls(): https.RequestOptions | undefined {
    const t = this.o.tls;
    if (t === undefined) return undefined;
    return (this.dialTls ??= clientTlsOptions(t));
  }

  /**
   * Dials the streams of every current member and drops peers that left: their streams both
   * ways are cut, so a member removed later learns it (410) when it dials again.
   */
  syncPeers(ids: bigint[]): void {
    if (this.closed) return;
    const want = new Set(ids.filter((id) => id !== this.host.memberId));
    for (const [id, p] of this.peers) {
      if (!want.has(id) || this.host.isRemovedMember(id)) {
        p.close();
        this.peers.delete(id);
      }
    }
    for (const id of want) this.peer(id);
  }

  /** Since when the peer has been active (a stream up or a POST delivered; 0 = inactive). */
  activeSince(id: bigint): number {
    return this.peers.get(id)?.activeSince ?? 0;
  }

  private async sendSnapshot(peer: Peer, m: Message): Promise<void> {
    const host = this.host;
    if (peer.snapshotting) {
      host.reportSnapshot(peer.id, false);
      return;
    }
    peer.snapshotting = true;
    let file: string | undefined;
    const t0 = performance.now();
    try {
      file = await host.snapshotDbFile(m);
      const urls = host.peerUrlsOf(peer.id) ?? [];
      if (urls.length === 0) throw new Error('rafthttp: peer has no URL');
      const url = new URL(PeerPath.snapshot, urls[0]);
      const mod = url.protocol === 'https:' ? https : http;
      const body = file;
      const status = await new Promise<number>((resolve, reject) => {
        const req = mod.request(url, {
          method: 'POST',
          ...(url.protocol === 'https:' ? this.clientTls() : {}),
          headers: {
            'content-type': 'application/octet-stream',
            [PeerHeader.clusterId]: host.clusterId.toString(16),
            [PeerHeader.from]: host.memberId.toString(16),
            [PeerHeader.to]: peer.id.toString(16),
            [PeerHeader.serverVersion]: PeerVersion.server,
            [PeerHeader.minClusterVersion]: PeerVersion.minCluster,
          },
        });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.write(encodeMessageFrame(m));
        pipeline(createReadStream(body), req).catch(reject);
      });
      if (status !== 204) throw new PeerStatusError(status, '');
      this.o.log?.info('sent database snapshot to writer', { 'remote-peer-id': peer.id.toString(16), 'snapshot-index': m.snapshot?.metadata.index, took: `${Math.round(performance.now() - t0)}ms` });
      host.reportSnapshot(peer.id, true);
    } catch (e) {
      this.o.log?.warn('failed to send database snapshot', { 'remote-peer-id': peer.id.toString(16), error: (e as Error).message });
      host.reportSnapshot(peer.id, false);
    } finally {
      peer.snapshotting = false;
      if (file !== undefined) await rm(file, { force: true }).catch(() => undefined);
    }
  }

  // ---- short requests to a peer (forwarded lease renewals and promotions) ----

  /** One request to member `to`'s peer listener, with the peer headers and peer TLS credentials. */
  request(to: bigint, method: 'GET' | 'POST', path: string, timeoutMs: number, body?: { contentType: string; data: string }): Promise<PeerAnswer> {
    if (this.isolated) return Promise.reject(new RaftHttpError('ERR_RAFTHTTP_ISOLATED', 'rafthttp: peer traffic is cut (isolate)'));
    const urls = this.host.peerUrlsOf(to);
    if (urls === undefined || urls.length === 0) return Promise.reject(new RaftHttpError('ERR_RAFTHTTP_NO_PEER_URL', 'rafthttp: peer has no URL'));
    return peerRequest({
      url: new URL(path, urls[0]),
      method,
      clusterId: this.host.clusterId,
      from: this.host.memberId,
      to,
      body: body?.data,
      contentType: body?.contentType,
      timeoutMs,
      tls: this.clientTls(),
    });
  }

  // ---- receiving: every request goes through createPeerHandler (routing, checks, error boundary) ----

  private routes(): PeerRoute[] {
    const host = this.host;
    /** the headers of a JSON answer that names this member's cluster */
    const clusterJson = () => ({ 'content-type': 'application/json', [PeerHeader.clusterId]: host.clusterId.toString(16) });
    const raftRoute = () => ({ versions: true });
    const routes: PeerRoute[] = [
      {
        // a peer dials the stream that carries this member's messages to it
        method: 'GET',
        path: PeerPath.streamPrefix,
        access: 'member',
        admit: streamAdmission,
        headers: { [PeerHeader.serverVersion]: PeerVersion.server },
        serve: (req, res, c) =>
          serveStreamDial(req, res, host.clusterId, c.path, (kind, r) => {
            const p = this.peer(c.from);
            if (p === undefined) r.destroy();
            else p.attach(kind, r);
          }),
      },
      {
        method: 'POST',
        path: PeerPath.pipeline,
        access: 'member',
        admit: raftRoute,
        serve: (req, res, c) => servePipeline(req, res, c.from, host, (m) => host.step(m)),
      },
      {
        method: 'POST',
        path: PeerPath.snapshot,
        access: 'member',
        admit: raftRoute,
        serve: (req, res, c) => receiveSnapshot(req, res, c.from, { dir: host, snapshotDir: () => host.snapshotDir(), receive: (m, f) => host.receiveSnapshot(m, f), log: this.o.log }),
      },
      {
        method: 'GET',
        path: PeerPath.members,
        access: 'public',
        serve: (_req, res) => void res.writeHead(200, clusterJson()).end(host.membersJson()),
      },
      {
        method: 'GET',
        path: PeerPath.version,
        access: 'public',
        serve: (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(host.versions())),
      },
    ];
    const promote = host.promoteMember?.bind(host);
    if (promote !== undefined) {
      routes.push({
        method: 'POST',
        path: PeerPath.promote,
        access: 'member',
        serve: async (_req, res, c) => {
          const idStr = c.path.slice(PeerPath.promote.length);
          const id = parseHexId(idStr);
          if (id === undefined) throw new PeerRefusal(404, `member ${idStr} not found in cluster`);
          let json: string;
          try {
            json = await promote(id);
          } catch (e) {
            const err = e as Error & { code?: string };
            res.writeHead(412, clusterJson()).end(JSON.stringify({ code: err.code ?? 'ERR', message: err.message }));
            return;
          }
          res.writeHead(200, clusterJson()).end(json);
        },
      });
    }
    const renew = host.leaseRenew?.bind(host);
    if (renew !== undefined) {
      routes.push({
        method: 'POST',
        path: PeerPath.leases,
        access: 'member',
        serve: async (req, res) => {
          const body = await readBody(req, maxLeaseRequestBytes, 'body');
          let id: bigint | undefined;
          try {
            id = parseHexId((JSON.parse(body.toString('utf8')) as { id?: unknown } | null)?.id as string | undefined);
          } catch {
            id = undefined;
          }
          if (id === undefined) throw new PeerRefusal(400, 'error unmarshalling request');
          let ttl: number;
          try {
            ttl = renew(id);
          } catch (e) {
            // not the leader (any more): the follower answers its client "no leader" and retries
            throw new PeerRefusal(503, (e as Error).message);
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ttl }));
        },
      });
    }
    const hashKV = host.hashKV?.bind(host);
    if (hashKV !== undefined) {
      routes.push({
        method: 'GET',
        path: PeerPath.hashKV,
        access: 'member',
        serve: async (req, res) => {
          // etcd's hashKVHandler: a JSON HashKVRequest body, a JSON HashKVResponse
          const body = (await readBody(req, maxHashKVRequestBytes, 'body')).toString('utf8');
          let rev = 0n;
          try {
            const r = JSON.parse(body === '' ? '{}' : body) as { revision?: unknown } | null;
            if (r === null || typeof r !== 'object') throw new Error('not an object');
            if (r.revision !== undefined) {
              if (typeof r.revision !== 'number' || !Number.isSafeInteger(r.revision)) throw new Error('bad revision');
              rev = BigInt(r.revision);
            }
          } catch {
            throw new PeerRefusal(400, 'error unmarshalling request');
          }
          let h: Awaited<ReturnType<typeof hashKV>>;
          try {
            h = await hashKV(rev);
          } catch (e) {
            throw new PeerRefusal(400, (e as Error).message.replace(/^etcdserver: /, ''));
          }
          const out: Record<string, unknown> = { header: { revision: Number(h.revision) }, hash: h.hash };
          if (h.compactRevision !== 0n) out.compact_revision = Number(h.compactRevision);
          res.writeHead(200, clusterJson()).end(JSON.stringify(out));
        },
      });
    }
    return routes;
  }

  /** Peers with a working stream (etcd's ActivePeers). */
  activePeers(): number {
    let n = 0;
    for (const p of this.peers.values()) if (p.activeSince > 0) n++;
    return n;
  }

  /**
   * Cuts (true) or restores (false) all peer traffic of this member, both ways, as a network
   * partition would: every stream both ways is cut and sends are dropped (peers reported
   * unreachable), new peer requests answered 503, and its own short peer requests (forwarded
   * lease renewals, promotions) refused. When restored, the next send or sync dials again.
   */
  isolate(on: boolean): void {
    if (this.closed || this.isolated === on) return;
    this.isolated = on;
    if (!on) return; // send() and syncPeers() re-create the peers
    this.cutStreams();
  }

  /** Closes every peer: its streams both ways and its pipeline. */
  private cutStreams(): void {
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cutStreams();
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }
}

