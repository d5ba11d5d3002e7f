// InternalRaftRequest.encode for the busiest proposal: a header and a put, nothing else. It
// writes what the generated encoder writes (test/hot-codecs.test.ts), without building a
// BigInt per 64-bit field to range-check it (BigInt.asUintN) and without reading the other 26
// fields, so the proposal needs no object with every field present. Anything it does not expect
// (another field set, a value of the wrong type or out of range) goes to the generated encoder,
// which then writes it or throws its own error.

import type { BinaryWriter } from '@bufbuild/protobuf/wire';
import { InternalRaftRequest, type RequestHeader } from '../gen/tsetcd/raft_internal.js';
import type { PutRequest } from '../gen/etcdserverpb/rpc.js';
import type { Encodes } from './scratch-writer.js';

/** The proposal of a put: `header`, `ID` 0 and `put` (the other fields absent or undefined). */
export type PutProposal = Pick<InternalRaftRequest, 'header' | 'ID' | 'put'>;

const uint64Max = 2n ** 64n - 1n;
const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

function plain(m: PutProposal): m is PutProposal & { header: RequestHeader; put: PutRequest } {
  const h = m.header;
  const p = m.put;
  return m.ID === 0n && h !== undefined && p !== undefined &&
    typeof h.ID === 'bigint' && h.ID >= 0n && h.ID <= uint64Max &&
    typeof h.username === 'string' &&
    typeof h.authRevision === 'bigint' && h.authRevision >= 0n && h.authRevision <= uint64Max &&
    typeof p.lease === 'bigint' && p.lease >= int64Min && p.lease <= int64Max;
}

export const putProposal: Encodes<PutProposal> = {
  encode(m: PutProposal, writer?: BinaryWriter): BinaryWriter {
    if (writer === undefined || !plain(m)) return InternalRaftRequest.encode(m as InternalRaftRequest, writer);
    const h = m.header;
    writer.uint32(802).fork();
    if (h.ID !== 0n) writer.uint32(8).uint64(h.ID);
    if (h.username !== '') writer.uint32(18).string(h.username);
    if (h.authRevision !== 0n) writer.uint32(24).uint64(h.authRevision);
    writer.join();
    const p = m.put;
    writer.uint32(34).fork();
    if (p.key.length !== 0) writer.uint32(10).bytes(p.key);
    if (p.value.length !== 0) writer.uint32(18).bytes(p.value);
    if (p.lease !== 0n) writer.uint32(24).int64(p.lease);
    if (p.prevKv !== false) writer.uint32(32).bool(p.prevKv);
    if (p.ignoreValue !== false) writer.uint32(40).bool(p.ignoreValue);
    if (p.ignoreLease !== false) writer.uint32(48).bool(p.ignoreLease);
    return writer.join();
  },
};
