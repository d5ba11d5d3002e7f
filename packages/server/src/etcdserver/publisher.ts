// Publishing (etcd's publish and monitorVersions): once the member has caught up with a leader
// it proposes its name and client URLs (the "published" milestone the member serves after), and
// a leader sets the initial cluster version with them.

import { tsetcdpb } from '@tsetcd/proto';
import { idToHex } from '@tsetcd/common';
import { clusterVersion, defaults, type ServerLogger } from './config.js';
import { majorMinor, type MemberInfo, type RaftCluster } from '../membership/raft-cluster.js';

export interface PublisherOptions {
  name: string;
  /** the advertised client URLs when publishing (bound ports are known only once listening) */
  advertiseClientUrls: () => string[];
  electionTimeoutMs: number;
  /** false: wait for allow() (client URLs not bound yet) */
  allowed: boolean;
  log: ServerLogger;
  cluster: RaftCluster;
  /** proposes through raft; resolves once applied */
  propose(r: Partial<tsetcdpb.InternalRaftRequest>): Promise<unknown>;
}

/** Where the member stands with raft after an apply. */
export interface ApplyProgress {
  isLeader: boolean;
  /** the leader's ID, 0 while there is none */
  lead: bigint;
  applied: number;
  committed: number;
}

export class Publisher {
  private published = false;
  private publishing = false;
  private versionProposing = false;
  private versionLogged = false;
  private allowed: boolean;
  /** resolves once this member's attributes are applied (etcd's "published" milestone) */
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;

  constructor(private readonly o: PublisherOptions) {
    this.allowed = o.allowed;
    this.ready = new Promise((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.ready.catch(() => undefined);
  }

  /** Lets the member publish (the embedder calls it once client URLs are bound); false if it already could. */
  allow(): boolean {
    if (this.allowed) return false;
    this.allowed = true;
    return true;
  }

  /** Applied member attributes: the member's own ones mark it published. */
  memberAttributesApplied(m: MemberInfo): void {
    const c = this.o.cluster;
    if (m.id !== c.localId || this.published) return;
    this.published = true;
    this.o.log.info('published local member to cluster through raft', {
      'local-member-id': idToHex(c.localId),
      'local-member-attributes': `{Name:${m.name} ClientURLs:[${m.clientUrls.join(' ')}]}`,
      'request-path': `/0/members/${idToHex(c.localId)}/attributes`,
      'cluster-id': idToHex(c.clusterId),
      'publish-timeout': `${defaults.requestTimeoutBaseMs / 1000 + (2 * this.o.electionTimeoutMs) / 1000}s`,
    });
    this.resolveReady();
  }

  /** An applied cluster version (the cluster logs it). */
  versionApplied(): void {
    this.versionLogged = true;
  }

  /** After an apply: publish when caught up; a leader sets the cluster version. */
  afterApply(p: ApplyProgress): void {
    const c = this.o.cluster;
    if (p.isLeader) {
      if (!this.published && !this.publishing && this.allowed && p.applied >= p.committed) this.publish();
      // proposed with the publication (one batch, applied together), as etcd proposes it at the
      // leader's first commit of its term
      if (c.version === undefined && !this.versionProposing && (this.published || this.publishing)) {
        this.versionProposing = true;
        this.o.propose({ clusterVersionSet: { ver: clusterVersion } }).finally(() => {
          this.versionProposing = false;
        }).catch(() => undefined);
      } else if (c.version !== undefined && this.published && !this.versionLogged) {
        this.logVersion(c.version);
      }
    } else if (!this.published && p.lead !== 0n && !this.publishing && this.allowed) {
      this.publish();
    }
  }

  private logVersion(ver: string): void {
    this.versionLogged = true;
    this.o.log.info('enabled capabilities for version', { 'cluster-version': majorMinor(ver) });
  }

  private publish(): void {
    const c = this.o.cluster;
    this.publishing = true;
    this.o.propose({
      clusterMemberAttrSet: {
        memberID: c.localId,
        memberAttributes: { name: this.o.name, clientUrls: this.o.advertiseClientUrls() },
      },
    })
      .catch((e) => this.o.log.warn('failed to publish local member to cluster through raft', { error: String(e) }))
      .finally(() => {
        this.publishing = false;
        // a member that learned the cluster version from its data or a snapshot (a restart, a
        // joining member) says so once published, as etcd does when it recovers the cluster
        if (c.version !== undefined && this.published && !this.versionLogged) this.logVersion(c.version);
      });
  }

  /** The member stops: it never publishes. */
  close(err: Error): void {
    this.rejectReady(err);
  }
}
