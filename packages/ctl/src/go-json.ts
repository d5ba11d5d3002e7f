// Go's encoding/json applied to etcd's gogo-protobuf structs, described by small schemas: field
// order is the Go struct order, names are the json tags, `omit` mirrors `omitempty`.
// int64/uint64 are printed as exact numbers, []byte as base64, enums as numbers.
import { goJsonString } from '@tsetcd/common';

export type Kind =
  | 'int'
  | 'bool'
  | 'string'
  | 'bytes'
  | { msg: Schema }
  | { list: Kind; nullWhenEmpty?: boolean }
  | { embed: Schema };

export interface Field {
  json: string;
  key: string;
  kind: Kind;
  omit: boolean;
}

export type Schema = Field[];

function f(json: string, key: string, kind: Kind, omit = true): Field {
  return { json, key, kind, omit };
}

/** Go json string escaping (HTML-safe, as json.Marshal does), from @tsetcd/common. */
export { goJsonString };

function isEmpty(kind: Kind, v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (kind === 'int') return BigInt(v as bigint | number) === 0n;
  if (kind === 'bool') return v === false;
  if (kind === 'string') return v === '';
  if (kind === 'bytes') return (v as Uint8Array).length === 0;
  if ('list' in kind) return (v as unknown[]).length === 0;
  return false;
}

function encodeValue(kind: Kind, v: unknown): string {
  if (kind === 'int') return v === undefined ? '0' : BigInt(v as bigint | number).toString();
  if (kind === 'bool') return v ? 'true' : 'false';
  if (kind === 'string') return goJsonString((v as string) ?? '');
  if (kind === 'bytes') {
    if (v === undefined || v === null) return 'null';
    return '"' + Buffer.from(v as Uint8Array).toString('base64') + '"';
  }
  if ('msg' in kind) return v === undefined || v === null ? 'null' : encodeObject(kind.msg, v as Record<string, unknown>);
  if ('list' in kind) {
    const arr = v as unknown[] | undefined;
    if (!arr || (arr.length === 0 && kind.nullWhenEmpty)) return 'null';
    return '[' + arr.map((x) => encodeValue(kind.list, x)).join(',') + ']';
  }
  throw new Error('embed is handled by encodeObject');
}

function encodeFields(schema: Schema, obj: Record<string, unknown>, parts: string[]): void {
  for (const field of schema) {
    const v = obj[field.key];
    if (typeof field.kind === 'object' && 'embed' in field.kind) {
      if (v !== undefined && v !== null) encodeFields(field.kind.embed, v as Record<string, unknown>, parts);
      continue;
    }
    if (field.omit && isEmpty(field.kind, v)) continue;
    parts.push(goJsonString(field.json) + ':' + encodeValue(field.kind, v));
  }
}

export function encodeObject(schema: Schema, obj: Record<string, unknown>): string {
  const parts: string[] = [];
  encodeFields(schema, obj, parts);
  return '{' + parts.join(',') + '}';
}

export function goJson(schema: Schema, obj: unknown): string {
  return encodeObject(schema, obj as Record<string, unknown>);
}

export function goJsonList(schema: Schema, list: unknown[]): string {
  return '[' + list.map((x) => encodeObject(schema, x as Record<string, unknown>)).join(',') + ']';
}

const msg = (s: Schema): Kind => ({ msg: s });
const list = (k: Kind, nullWhenEmpty = false): Kind => ({ list: k, nullWhenEmpty });

// ---- etcdserverpb / mvccpb / authpb (gogo json tags = proto field names, all omitempty) ----

export const ResponseHeaderSchema: Schema = [
  f('cluster_id', 'clusterId', 'int'),
  f('member_id', 'memberId', 'int'),
  f('revision', 'revision', 'int'),
  f('raft_term', 'raftTerm', 'int'),
];
const header = f('header', 'header', msg(ResponseHeaderSchema));

export const KeyValueSchema: Schema = [
  f('key', 'key', 'bytes'),
  f('create_revision', 'createRevision', 'int'),
  f('mod_revision', 'modRevision', 'int'),
  f('version', 'version', 'int'),
  f('value', 'value', 'bytes'),
  f('lease', 'lease', 'int'),
];

export const EventSchema: Schema = [
  f('type', 'type', 'int'),
  f('kv', 'kv', msg(KeyValueSchema)),
  f('prev_kv', 'prevKv', msg(KeyValueSchema)),
];

export const RangeResponseSchema: Schema = [header, f('kvs', 'kvs', list(msg(KeyValueSchema))), f('more', 'more', 'bool'), f('count', 'count', 'int')];
export const PutResponseSchema: Schema = [header, f('prev_kv', 'prevKv', msg(KeyValueSchema))];
export const DeleteRangeResponseSchema: Schema = [header, f('deleted', 'deleted', 'int'), f('prev_kvs', 'prevKvs', list(msg(KeyValueSchema)))];
export const TxnResponseSchema: Schema = [header, f('succeeded', 'succeeded', 'bool')];
export const HeaderOnlySchema: Schema = [header];
export const HashKVResponseSchema: Schema = [header, f('hash', 'hash', 'int'), f('compact_revision', 'compactRevision', 'int')];

export const MemberSchema: Schema = [
  f('ID', 'ID', 'int'),
  f('name', 'name', 'string'),
  f('peerURLs', 'peerURLs', list('string')),
  f('clientURLs', 'clientURLs', list('string')),
  f('isLearner', 'isLearner', 'bool'),
];
export const MembersResponseSchema: Schema = [header, f('members', 'members', list(msg(MemberSchema)))];
export const MemberAddResponseSchema: Schema = [header, f('member', 'member', msg(MemberSchema)), f('members', 'members', list(msg(MemberSchema)))];

export const AlarmMemberSchema: Schema = [f('memberID', 'memberID', 'int'), f('alarm', 'alarm', 'int')];
export const AlarmResponseSchema: Schema = [header, f('alarms', 'alarms', list(msg(AlarmMemberSchema)))];

export const StatusResponseSchema: Schema = [
  header,
  f('version', 'version', 'string'),
  f('dbSize', 'dbSize', 'int'),
  f('leader', 'leader', 'int'),
  f('raftIndex', 'raftIndex', 'int'),
  f('raftTerm', 'raftTerm', 'int'),
  f('raftAppliedIndex', 'raftAppliedIndex', 'int'),
  f('errors', 'errors', list('string')),
  f('dbSizeInUse', 'dbSizeInUse', 'int'),
  f('isLearner', 'isLearner', 'bool'),
];

export const PermissionSchema: Schema = [f('permType', 'permType', 'int'), f('key', 'key', 'bytes'), f('range_end', 'rangeEnd', 'bytes')];
export const AuthRoleGetResponseSchema: Schema = [header, f('perm', 'perm', list(msg(PermissionSchema)))];
export const AuthUserGetResponseSchema: Schema = [header, f('roles', 'roles', list('string'))];
export const AuthRoleListResponseSchema: Schema = [header, f('roles', 'roles', list('string'))];
export const AuthUserListResponseSchema: Schema = [header, f('users', 'users', list('string'))];

// ---- clientv3 wrapper structs (plain Go structs: no omitempty unless tagged) ----

const embeddedHeader: Field = { json: '', key: 'header', kind: { embed: ResponseHeaderSchema }, omit: false };

export const LeaseGrantSchema: Schema = [embeddedHeader, f('ID', 'ID', 'int', false), f('TTL', 'TTL', 'int', false), f('Error', 'error', 'string', false)];
export const LeaseKeepAliveSchema: Schema = [embeddedHeader, f('ID', 'ID', 'int', false), f('TTL', 'TTL', 'int', false)];
export const LeaseTimeToLiveSchema: Schema = [
  embeddedHeader,
  f('id', 'ID', 'int', false),
  f('ttl', 'TTL', 'int', false),
  f('granted-ttl', 'grantedTTL', 'int', false),
  f('keys', 'keys', list('bytes', true), false),
];
export const LeaseStatusSchema: Schema = [f('id', 'ID', 'int', false)];
export const LeaseLeasesSchema: Schema = [embeddedHeader, f('leases', 'leases', list(msg(LeaseStatusSchema)), false)];

export const WatchResponseSchema: Schema = [
  f('Header', 'header', msg(ResponseHeaderSchema), false),
  f('Events', 'events', list(msg(EventSchema)), false),
  f('CompactRevision', 'compactRevision', 'int', false),
  f('Canceled', 'canceled', 'bool', false),
  f('Created', 'created', 'bool', false),
];

export const EpHealthSchema: Schema = [f('endpoint', 'ep', 'string', false), f('health', 'health', 'bool', false), f('took', 'took', 'string', false), f('error', 'error', 'string')];
export const EpStatusSchema: Schema = [f('Endpoint', 'ep', 'string', false), f('Status', 'resp', msg(StatusResponseSchema), false)];
export const EpHashKVSchema: Schema = [f('Endpoint', 'ep', 'string', false), f('HashKV', 'resp', msg(HashKVResponseSchema), false)];
export const SnapshotStatusSchema: Schema = [f('hash', 'hash', 'int', false), f('revision', 'revision', 'int', false), f('totalKey', 'totalKey', 'int', false), f('totalSize', 'totalSize', 'int', false)];

/** TxnResponse: responses are `{"Response":{"ResponsePut":{...}}}` (the oneof wrapper has no json tags). */
export function txnResponseJson(resp: { header?: unknown; succeeded: boolean; responses: { response?: { $case: string; value: unknown } }[] }): string {
  const parts: string[] = [];
  encodeFields(TxnResponseSchema, resp as unknown as Record<string, unknown>, parts);
  if (resp.responses.length > 0) {
    const items = resp.responses.map((r) => {
      if (!r.response) return '{"Response":null}';
      const v = r.response.value;
      switch (r.response.$case) {
        case 'responseRange':
          return `{"Response":{"ResponseRange":${goJson(RangeResponseSchema, v)}}}`;
        case 'responsePut':
          return `{"Response":{"ResponsePut":${goJson(PutResponseSchema, v)}}}`;
        case 'responseDeleteRange':
          return `{"Response":{"ResponseDeleteRange":${goJson(DeleteRangeResponseSchema, v)}}}`;
        default:
          return `{"Response":{"ResponseTxn":${txnResponseJson(v as Parameters<typeof txnResponseJson>[0])}}}`;
      }
    });
    parts.push('"responses":[' + items.join(',') + ']');
  }
  return '{' + parts.join(',') + '}';
}
