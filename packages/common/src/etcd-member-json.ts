// etcd's membership.Member as json.Marshal writes it (the members bucket of the backend, the
// context of a member's ConfChange): {"id", "peerURLs", "isLearner" (omitempty), "name"
// (omitempty), "clientURLs" (omitempty)}; a nil peer URL list is null.

import { goJsonString } from './go-json.js';

export interface EtcdMemberFields {
  id: bigint;
  name: string;
  peerUrls: readonly string[];
  clientUrls?: readonly string[];
  isLearner?: boolean;
}

export function etcdMemberJson(m: EtcdMemberFields): string {
  const list = (urls: readonly string[]) => `[${urls.map(goJsonString).join(',')}]`;
  let s = `{"id":${BigInt.asUintN(64, m.id)},"peerURLs":${m.peerUrls.length > 0 ? list(m.peerUrls) : 'null'}`;
  if (m.isLearner === true) s += ',"isLearner":true';
  if (m.name !== '') s += `,"name":${goJsonString(m.name)}`;
  if (m.clientUrls !== undefined && m.clientUrls.length > 0) s += `,"clientURLs":${list(m.clientUrls)}`;
  return s + '}';
}
