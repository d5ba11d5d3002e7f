// The membership etcd 3.4 keeps in its v2 store under "/0" (membership/store.go): each member's
// raftAttributes and attributes, removed members, the cluster version. tsetcd's membership lives
// in the backend; these writes keep the v2 store's index and "/0" as etcd's (every member
// applies them in log order), so v2 clients see etcd's numbers.

import { idToHex } from '@tsetcd/common';
import { permanent, type V2Store } from './store.js';

export const clusterPrefix = '/0';
export const keysPrefix = '/1';

function memberKey(id: bigint): string {
  return `${clusterPrefix}/members/${idToHex(id)}`;
}

function raftAttributesJson(peerUrls: string[], isLearner: boolean): string {
  return JSON.stringify(isLearner ? { peerURLs: peerUrls, isLearner: true } : { peerURLs: peerUrls });
}

/** a member added (etcd's mustSaveMemberToStore) */
export function saveMember(s: V2Store, id: bigint, peerUrls: string[], isLearner: boolean): void {
  s.create(`${memberKey(id)}/raftAttributes`, false, raftAttributesJson(peerUrls, isLearner), false, permanent);
}

/** a member's peer URLs changed, or a learner promoted (etcd's mustUpdateMemberInStore) */
export function updateMember(s: V2Store, id: bigint, peerUrls: string[], isLearner: boolean): void {
  s.update(`${memberKey(id)}/raftAttributes`, raftAttributesJson(peerUrls, isLearner), permanent);
}

/** a member removed (etcd's mustDeleteMemberFromStore) */
export function deleteMember(s: V2Store, id: bigint): void {
  s.delete(memberKey(id), true, true);
  s.create(`${clusterPrefix}/removed_members/${idToHex(id)}`, false, '', false, permanent);
}

/** a member's published name and client URLs (etcd's mustUpdateMemberAttrInStore) */
export function saveMemberAttributes(s: V2Store, id: bigint, name: string, clientUrls: string[]): void {
  const attrs: Record<string, unknown> = {};
  if (name !== '') attrs.name = name;
  if (clientUrls.length > 0) attrs.clientURLs = clientUrls;
  s.set(`${memberKey(id)}/attributes`, false, JSON.stringify(attrs), permanent);
}

/** the cluster version (etcd's mustSaveClusterVersionToStore) */
export function saveClusterVersion(s: V2Store, ver: string): void {
  s.set(`${clusterPrefix}/version`, false, ver, permanent);
}
