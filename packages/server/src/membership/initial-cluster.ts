// --initial-cluster parsing and the IDs of a brand-new cluster, derived exactly like etcd's
// membership package: each member's ID from its sorted peer URLs + the cluster token, the
// cluster ID from the sorted member IDs (see @tsetcd/common member-id.ts).

import { computeClusterId, computeMemberId, idToHex, parseUrlsMap, UrlsError } from '@tsetcd/common';
import { BootstrapError } from './errors.js';

export interface InitialMember {
  id: bigint;
  name: string;
  peerUrls: string[];
}

export interface InitialCluster {
  clusterId: bigint;
  /** sorted by ID, the order etcd bootstraps raft with */
  members: InitialMember[];
}

/** "a=http://h:2380,b=http://h2:2380,a=http://h3:2380" → name → URLs (a name may repeat). */
export function parseInitialCluster(s: string): Map<string, string[]> {
  try {
    return parseUrlsMap(s);
  } catch (e) {
    if (e instanceof UrlsError) throw new BootstrapError(`invalid value "${s}" for flag -initial-cluster: ${e.message}`);
    throw e;
  }
}

/** The members and cluster ID of a new cluster. */
export function newInitialCluster(initialCluster: Map<string, string[]>, token: string): InitialCluster {
  const members: InitialMember[] = [];
  const seen = new Map<string, string>();
  for (const [name, urls] of initialCluster) {
    for (const u of urls) {
      const prev = seen.get(u);
      if (prev !== undefined) throw new BootstrapError(`duplicate URL ${u} in the initial cluster (members ${prev} and ${name})`);
      seen.set(u, name);
    }
    members.push({ id: computeMemberId(urls, token), name, peerUrls: [...urls].sort() });
  }
  members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = 1; i < members.length; i++) {
    if (members[i].id === members[i - 1].id) throw new BootstrapError(`member ID ${idToHex(members[i].id)} appears twice in the initial cluster`);
  }
  return { clusterId: computeClusterId(members.map((m) => m.id)), members };
}

function sameUrls(a: string[], b: string[]): boolean {
  const x = [...a].map(normalizeUrl).sort();
  const y = [...b].map(normalizeUrl).sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function normalizeUrl(u: string): string {
  return u.replace(/\/$/, '');
}

/**
 * This member in the initial cluster: found by name, and its --initial-advertise-peer-urls must
 * be exactly the URLs listed for that name (etcd's check).
 */
export function findSelf(ic: InitialCluster, name: string, advertisePeerUrls: string[]): InitialMember {
  const self = ic.members.find((m) => m.name === name);
  if (self === undefined) throw new BootstrapError(`couldn't find local name "${name}" in the initial cluster configuration`);
  if (!sameUrls(self.peerUrls, advertisePeerUrls)) {
    throw new BootstrapError(`--initial-cluster has ${name}=${self.peerUrls.join(',')} but missing from --initial-advertise-peer-urls=${advertisePeerUrls.join(',')}`);
  }
  return self;
}

export { sameUrls };
