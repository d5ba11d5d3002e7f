// Starting tsetcd from an etcd 3.4 data dir: member/snap/db is then a bbolt file. The WAL and the
// snapshot files are in etcd's formats, which are tsetcd's own too; the backend is LMDB here, and
// raft ConfChange entries are encoded our way (context: tsetcdpb.Member, not etcd's member JSON).
// So the dir is converted once, before the member opens it. Two layouts are accepted:
//   - `etcdctl snapshot restore` (or `tsetcdctl snapshot restore`): a WAL whose log starts at
//     index 1 and holds only the members' ConfChange entries. The bbolt buckets are imported into
//     a fresh LMDB backend (etcd layout -> ours), the members bucket filled from the ConfChanges,
//     consistent index = last entry; the WAL is written again with the ConfChanges re-encoded
//     (the state of a member that applied its bootstrap entries).
//   - `etcdctl backup`: a WAL without ConfChange entries and a db without the membership buckets
//     (backup drops both). Only the backend is imported; the WAL and the snapshot stay (see
//     importBackend).
// The etcd files are moved aside first and removed once the converted dir is in place. Anything
// else (a WAL with etcd-encoded ConfChanges after other entries) is refused.

import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfChangeType, EntryType, encodeConfChange, type Entry, type HardState } from '@tsetcd/raft';
import { tsetcdpb } from '@tsetcd/proto';
import { Backend, Buckets } from '../backend/backend.js';
import { BoltReader, decodePbFields, EtcdWalError, etcdWalRecords, EtcdWalRecordType, looksLikeBolt, pbBytes, pbUint, ProtobufWireError, type PbFields } from '@tsetcd/common';
import { importEtcdBuckets } from '../bolt/etcd-layout.js';
import { Wal } from '../wal/index.js';
import { encodeWalMetadata } from './wal-metadata.js';
import { Snapshotter } from '../snap/index.js';
import { V2Store } from '../v2store/store.js';
import { clusterPrefix, keysPrefix, saveMember } from '../v2store/cluster-keys.js';
import { saveStore } from '../v2store/snapshot-json.js';

export class EtcdDataDirError extends Error {
  readonly code = 'ETCD_DATA_DIR';
}

/** A protobuf message of the etcd dir; its damage is this dir's error. */
function pbFields(b: Buffer): PbFields {
  try {
    return decodePbFields(b);
  } catch (e) {
    if (e instanceof ProtobufWireError) throw new EtcdDataDirError(e.message);
    throw e;
  }
}

// ---- etcd's WAL ----

interface EtcdWal {
  memberId: bigint;
  clusterId: bigint;
  entries: Entry[];
  hardState: HardState;
}

interface EtcdConfChange {
  type: ConfChangeType;
  nodeId: bigint;
  context: Buffer;
}

/** Reads every record of etcd's WAL segments (frames: u64 LE length | padding flag, walpb.Record). */
export function readEtcdWal(walDir: string): EtcdWal {
  const names = readdirSync(walDir).filter((n) => n.endsWith('.wal')).sort();
  if (names.length === 0) throw new EtcdDataDirError(`no WAL segment in ${walDir}`);
  let meta: PbFields | undefined;
  let entries: Entry[] = [];
  const hs: HardState = { term: 0, vote: 0n, commit: 0 };
  for (const name of names) {
    let records: Array<{ type: number; data: Buffer }>;
    try {
      records = [...etcdWalRecords(readFileSync(join(walDir, name)))];
    } catch (e) {
      if (e instanceof EtcdWalError || e instanceof ProtobufWireError) throw new EtcdDataDirError(`${name}: ${e.message}`);
      throw e;
    }
    for (const { type, data } of records) {
      switch (type) {
        case EtcdWalRecordType.metadata:
          meta = pbFields(data);
          break;
        case EtcdWalRecordType.entry: {
          const e = pbFields(data);
          const ent: Entry = { type: Number(pbUint(e, 1)), term: Number(pbUint(e, 2)), index: Number(pbUint(e, 3)), data: Buffer.from(pbBytes(e, 4)) };
          // a later record for an index replaces it and everything after it
          entries = entries.filter((x) => x.index < ent.index);
          entries.push(ent);
          break;
        }
        case EtcdWalRecordType.state: {
          const st = pbFields(data);
          hs.term = Number(pbUint(st, 1));
          hs.vote = pbUint(st, 2);
          hs.commit = Number(pbUint(st, 3));
          break;
        }
        default:
          break; // crc and snapshot markers
      }
    }
  }
  if (meta === undefined) throw new EtcdDataDirError(`${walDir}: WAL without metadata`);
  return { memberId: pbUint(meta, 1), clusterId: pbUint(meta, 2), entries, hardState: hs };
}

function etcdConfChange(e: Entry): EtcdConfChange {
  const f = pbFields(Buffer.from(e.data));
  return { type: Number(pbUint(f, 2)), nodeId: pbUint(f, 3), context: pbBytes(f, 4) };
}

interface EtcdMemberContext {
  name?: string;
  peerURLs?: string[] | null;
  clientURLs?: string[] | null;
  isLearner?: boolean;
}

function memberOf(cc: EtcdConfChange): tsetcdpb.Member {
  let j: EtcdMemberContext = {};
  if (cc.context.length > 0) {
    try {
      j = JSON.parse(cc.context.toString('utf8')) as EtcdMemberContext;
    } catch {
      throw new EtcdDataDirError(`member ${cc.nodeId.toString(16)}: context is not etcd's member JSON`);
    }
  }
  return { ID: cc.nodeId, name: j.name ?? '', peerUrls: j.peerURLs ?? [], clientUrls: j.clientURLs ?? [], isLearner: j.isLearner === true || cc.type === ConfChangeType.AddLearnerNode };
}

/** True if the data dir holds an etcd backend (member/snap/db is a bbolt file, not our LMDB dir). */
export function isEtcdDataDir(dataDir: string): boolean {
  const db = join(dataDir, 'member', 'snap', 'db');
  if (!existsSync(db) || !statSync(db).isFile()) return false;
  const head = Buffer.alloc(80);
  const fd = openSync(db, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  return looksLikeBolt(head);
}

/**
 * Converts an etcd data dir written by `snapshot restore` into tsetcd's formats in place.
 * Returns false (and changes nothing) if the dir is not an etcd one.
 */
export async function importEtcdDataDir(dataDir: string, walDir?: string): Promise<boolean> {
  if (!isEtcdDataDir(dataDir)) return false;
  const snapDir = join(dataDir, 'member', 'snap');
  const dbFile = join(snapDir, 'db');
  const wdir = walDir || join(dataDir, 'member', 'wal');
  const wal = readEtcdWal(wdir);
  const ents = wal.entries;
  if (!ents.some((e) => e.type === EntryType.ConfChange) && !new BoltReader(readFileSync(dbFile)).bucketNames().includes(Buckets.members)) {
    // `etcdctl backup`'s layout: etcd's log format is ours, it dropped every ConfChange and the
    // membership buckets (a live etcd member's dir keeps them: refused below)
    await importBackend(dbFile, snapDir);
    return true;
  }
  if (ents.length === 0 || ents[0].index !== 1) throw new EtcdDataDirError('etcd WAL does not start at index 1: only data dirs written by `snapshot restore` or `etcdctl backup` can be imported');
  const members = new Map<bigint, tsetcdpb.Member>();
  const entries: Entry[] = [];
  for (const e of ents) {
    if (e.type !== EntryType.ConfChange) throw new EtcdDataDirError(`etcd WAL entry ${e.index} is not a membership change: only data dirs written by \`snapshot restore\` or \`etcdctl backup\` can be imported`);
    const cc = etcdConfChange(e);
    if (cc.type === ConfChangeType.RemoveNode) members.delete(cc.nodeId);
    else {
      const m = memberOf(cc);
      members.set(cc.nodeId, m);
      entries.push({ term: e.term, index: e.index, type: EntryType.ConfChange, data: encodeConfChange({ type: cc.type, nodeId: cc.nodeId, context: tsetcdpb.Member.encode(m).finish() }) });
      continue;
    }
    entries.push({ term: e.term, index: e.index, type: EntryType.ConfChange, data: encodeConfChange({ type: cc.type, nodeId: cc.nodeId, context: new Uint8Array(0) }) });
  }
  const lastIndex = ents[ents.length - 1].index;
  if (wal.hardState.commit < lastIndex) throw new EtcdDataDirError(`etcd WAL commit ${wal.hardState.commit} is behind its last entry ${lastIndex}`);

  const bolt = new BoltReader(readFileSync(dbFile));
  // no extension: lmdb takes a path with one for a single-file environment
  const tmpDb = join(snapDir, 'db-tsetcd-import');
  const tmpWal = `${wdir}.tsetcd-import`;
  rmSync(tmpDb, { recursive: true, force: true });
  rmSync(tmpWal, { recursive: true, force: true });
  const be = Backend.open(tmpDb);
  try {
    // restore dropped the old cluster's members: the WAL's membership is the current one. The
    // cluster version is left out too: etcd reads a restored member's version from its v2 store,
    // which restore writes without one, so the first leader sets it again through raft and every
    // member (one joining later too) applies and logs it
    importEtcdBuckets(be, bolt.buckets().filter((b) => b.name !== Buckets.members && b.name !== Buckets.membersRemoved && b.name !== Buckets.cluster));
    for (const m of members.values()) be.put(Buckets.members, Buffer.from(m.ID.toString(16)), Buffer.from(tsetcdpb.Member.encode(m).finish()));
    // the bootstrap entries are applied: the backend covers the whole log
    be.setConsistentIndex(Math.max(lastIndex, be.consistentIndex()));
    await be.commitDurable();
  } finally {
    await be.close();
  }
  // As etcd's restore, a raft snapshot at the last bootstrap entry: the imported data is in no
  // log entry, so a member that joins later must be sent a snapshot (the log starts after it),
  // not the bootstrap entries alone
  const lastTerm = ents[ents.length - 1].term;
  // its data is etcd's v2 store as restore writes it: the members' raftAttributes under /0, in ID order
  const v2 = new V2Store([clusterPrefix, keysPrefix]);
  for (const m of [...members.values()].sort((x, y) => (x.ID < y.ID ? -1 : x.ID > y.ID ? 1 : 0))) saveMember(v2, m.ID, m.peerUrls, m.isLearner);
  const snapshot = { data: saveStore(v2), metadata: { index: lastIndex, term: lastTerm, confState: { voters: [...members.keys()], learners: [] } } };
  const w = await Wal.create(tmpWal, encodeWalMetadata(wal.memberId, wal.clusterId));
  try {
    await w.save(wal.hardState, entries, true);
    await w.saveSnapshotMarker({ index: lastIndex, term: lastTerm });
  } finally {
    await w.close();
  }
  // swap: etcd's files aside, ours in, then drop etcd's
  const oldDb = `${dbFile}.etcd`;
  const oldWal = `${wdir}.etcd`;
  renameSync(dbFile, oldDb);
  renameSync(wdir, oldWal);
  renameSync(tmpDb, dbFile);
  renameSync(tmpWal, wdir);
  for (const n of readdirSync(snapDir)) if (n.endsWith('.snap')) rmSync(join(snapDir, n), { force: true });
  await new Snapshotter(snapDir).save(snapshot);
  rmSync(oldDb, { force: true });
  rmSync(oldWal, { recursive: true, force: true });
  return true;
}

/**
 * A dir written by `etcdctl backup`: its WAL (entries renumbered, ConfChanges and member
 * attribute updates dropped, v3 entries too without --with-v3) and snapshot file are in the
 * formats tsetcd writes, and stay; only member/snap/db, the bbolt file backup wrote (without
 * --with-v3: just the consistent index, at the log's commit; membership buckets dropped, to be
 * rebuilt by --force-new-cluster), becomes an LMDB backend.
 */
async function importBackend(dbFile: string, snapDir: string): Promise<void> {
  const bolt = new BoltReader(readFileSync(dbFile));
  const tmpDb = join(snapDir, 'db-tsetcd-import');
  rmSync(tmpDb, { recursive: true, force: true });
  const be = Backend.open(tmpDb);
  try {
    importEtcdBuckets(be, bolt.buckets().filter((b) => b.name !== Buckets.members && b.name !== Buckets.membersRemoved && b.name !== Buckets.cluster));
    await be.commitDurable();
  } finally {
    await be.close();
  }
  const oldDb = `${dbFile}.etcd`;
  renameSync(dbFile, oldDb);
  renameSync(tmpDb, dbFile);
  rmSync(oldDb, { force: true });
}
