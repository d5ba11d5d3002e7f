// snapshot restore for a real etcd 3.4 data dir (tsetcd's own storage format is not written):
//   member/snap/db    the snapshot's bbolt file (sha256 trailer checked and cut), with
//                     meta/consistent_index set to the number of members (etcd's restore does
//                     the same so that the new raft log's entries are applied);
//   member/snap/<term>-<index>.snap  a raft snapshot of a v2 store holding the new members;
//   member/wal/0000000000000000-0000000000000000.wal  a WAL with the member metadata, one
//                     ConfChange(AddNode) entry per member, the hard state and a snapshot marker.
// IDs follow etcd: member ID = sha1(sorted peer URLs + cluster token)[0:8], cluster ID =
// sha1(sorted member IDs, 8 bytes big-endian each)[0:8].

import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeFileSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { BoltReader, etcdMemberJson, computeClusterId, computeMemberId, crc32c, EtcdWalRecordType, EtcdWalWriter, parseUrlsMap, pbBytesField, pbVarintField, UrlsError } from '@tsetcd/common';
import { CtlExit, ExitCode } from '../errors.js';
import { goJsonString } from '../go-json.js';
import { goQuote } from '../go-format.js';

export interface RestoreConfig {
  snapshotPath: string;
  name: string;
  outputDataDir: string;
  outputWalDir: string;
  peerURLs: string[];
  initialCluster: string;
  initialClusterToken: string;
  skipHashCheck: boolean;
  log: (msg: string, fields: Record<string, string | number>) => void;
}

const sha256Bytes = 32;
const walSegmentBytes = 64 * 1000 * 1000;
const v2EventHistoryCapacity = 1000;
const entryConfChange = 1;
const confChangeAddNode = 0;

interface Member {
  id: bigint;
  name: string;
  peerURLs: string[];
}

/** types.NewURLsMap of --initial-cluster ("name=url,name=url"), URLs sorted per name. */
function parseInitialCluster(s: string): Map<string, string[]> {
  try {
    return parseUrlsMap(s);
  } catch (e) {
    if (e instanceof UrlsError) throw new CtlExit(ExitCode.Error, e.message);
    throw e;
  }
}

function membersOf(cfg: RestoreConfig): { members: Member[]; clusterId: bigint } {
  const urls = parseInitialCluster(cfg.initialCluster);
  const mine = urls.get(cfg.name);
  const peers = [...cfg.peerURLs].sort();
  if (!mine) throw new CtlExit(ExitCode.Error, `couldn't find local name ${goJsonString(cfg.name)} in the initial cluster configuration`);
  if (mine.join(',') !== peers.join(',')) {
    const why = mine.length !== peers.length ? `len(${goQuote(peers.join(','))}) != len(${goQuote(mine.join(','))})` : `resolved urls: ${goQuote(peers.join(','))} != ${goQuote(mine.join(','))}`;
    throw new CtlExit(ExitCode.Error, `--initial-cluster has ${cfg.name}=${mine.join(',')} but missing from --initial-advertise-peer-urls=${cfg.peerURLs.join(',')} (${why})`);
  }
  const members = [...urls.entries()].map(([name, list]) => ({
    id: computeMemberId(list, cfg.initialClusterToken),
    name,
    peerURLs: list,
  }));
  members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { members, clusterId: computeClusterId(members.map((m) => m.id)) };
}

/** Copies the db, checks and cuts the sha256 trailer, sets meta/consistent_index. */
function saveDb(cfg: RestoreConfig, snapDir: string, commit: number): void {
  const buf = readFileSync(cfg.snapshotPath);
  // etcd creates the snap dir and copies the file before checking it.
  mkdirSync(snapDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(snapDir, 'db'), buf, { mode: 0o600 });
  const hasHash = buf.length % 512 === sha256Bytes;
  let db = buf;
  if (hasHash) {
    db = buf.subarray(0, buf.length - sha256Bytes);
    if (!cfg.skipHashCheck) {
      const want = buf.subarray(buf.length - sha256Bytes);
      const got = createHash('sha256').update(db).digest();
      if (!got.equals(want)) throw new CtlExit(ExitCode.Error, `expected sha256 [${[...want].join(' ')}], got [${[...got].join(' ')}]`);
    }
  } else if (!cfg.skipHashCheck) {
    throw new CtlExit(ExitCode.Error, 'snapshot missing hash but --skip-hash-check=false');
  }
  const out = Buffer.from(db);
  const bolt = new BoltReader(out);
  let patched = false;
  for (const b of bolt.rootEntries()) {
    if (b.key.toString('latin1') !== 'meta' || !b.isBucket) continue;
    for (const kv of bolt.bucketEntries(b.value)) {
      if (kv.key.toString('latin1') === 'consistent_index' && kv.value.length === 8) {
        kv.value.writeBigUInt64BE(BigInt(commit)); // in place: bbolt pages carry no checksums
        patched = true;
      }
    }
  }
  if (!patched) throw new CtlExit(ExitCode.Error, 'snapshot has no meta/consistent_index to update');
  mkdirSync(snapDir, { recursive: true, mode: 0o700 });
  const fd = openSync(join(snapDir, 'db'), 'w', 0o600);
  try {
    writeFileSync(fd, out);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function restoreSnapshot(cfg: RestoreConfig): void {
  const { members, clusterId } = membersOf(cfg);
  if (existsSync(cfg.outputDataDir)) throw new CtlExit(ExitCode.Error, `data-dir ${goJsonString(cfg.outputDataDir)} exists`);
  if (existsSync(cfg.outputWalDir)) throw new CtlExit(ExitCode.Error, `wal-dir ${goJsonString(cfg.outputWalDir)} exists`);
  if (!existsSync(cfg.snapshotPath)) throw new CtlExit(ExitCode.Error, `open ${cfg.snapshotPath}: no such file or directory`);
  const snapDir = join(cfg.outputDataDir, 'member', 'snap');
  const self = members.find((m) => m.name === cfg.name)!;
  cfg.log('restoring snapshot', { path: cfg.snapshotPath, 'wal-dir': cfg.outputWalDir, 'data-dir': cfg.outputDataDir, 'snap-dir': snapDir });
  const commit = members.length;
  const term = 1;
  saveDb(cfg, snapDir, commit);

  // WAL: crc, metadata, empty snapshot marker (wal.Create), entries + hard state, snapshot marker.
  // Messages are proto2 with gogo nullable=false: every field is written.
  const w = new EtcdWalWriter();
  w.record(EtcdWalRecordType.crc);
  w.record(EtcdWalRecordType.metadata, Buffer.from([...pbVarintField(1, self.id), ...pbVarintField(2, clusterId)]));
  w.record(EtcdWalRecordType.snapshot, Buffer.from([...pbVarintField(1, 0), ...pbVarintField(2, 0)]));
  members.forEach((m, i) => {
    const memberJson = etcdMemberJson({ id: m.id, name: m.name, peerUrls: m.peerURLs });
    const cc = Buffer.from([...pbVarintField(1, 0), ...pbVarintField(2, confChangeAddNode), ...pbVarintField(3, m.id), ...pbBytesField(4, Buffer.from(memberJson))]);
    w.record(EtcdWalRecordType.entry, Buffer.from([...pbVarintField(1, entryConfChange), ...pbVarintField(2, term), ...pbVarintField(3, i + 1), ...pbBytesField(4, cc)]));
  });
  w.record(EtcdWalRecordType.state, Buffer.from([...pbVarintField(1, term), ...pbVarintField(2, members[0].id), ...pbVarintField(3, commit)]));
  w.record(EtcdWalRecordType.snapshot, Buffer.from([...pbVarintField(1, commit), ...pbVarintField(2, term)]));
  mkdirSync(cfg.outputWalDir, { recursive: true, mode: 0o700 });
  const walFile = join(cfg.outputWalDir, '0000000000000000-0000000000000000.wal');
  const fd = openSync(walFile, 'w', 0o600);
  try {
    writeFileSync(fd, w.bytes());
    ftruncateSync(fd, walSegmentBytes); // etcd preallocates segments; the zeros end the log
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }

  // v2 store with the members' raftAttributes (what etcd 3.4 recovers membership from).
  const zeroTime = '"0001-01-01T00:00:00Z"';
  const node = (path: string, index: number, value: string | null, children: string | null) =>
    `{"Path":${goJsonString(path)},"CreatedIndex":${index},"ModifiedIndex":${index},"ExpireTime":${zeroTime},"Value":${goJsonString(value ?? '')},"Children":${children ?? 'null'}}`;
  const attrsOf = (m: Member) => `{"peerURLs":[${m.peerURLs.map(goJsonString).join(',')}]}`;
  // Go marshals maps with sorted keys; members were created in ID order (indexes 1..n).
  const byHex = members.map((m, i) => ({ m, index: i + 1, hex: m.id.toString(16) })).sort((a, b) => (a.hex < b.hex ? -1 : 1));
  const memberNodes = byHex.map(({ m, index, hex }) => {
    const dir = `/0/members/${hex}`;
    return `${goJsonString(hex)}:${node(dir, index, null, `{"raftAttributes":${node(`${dir}/raftAttributes`, index, attrsOf(m), null)}}`)}`;
  });
  const events = members.map((m, i) => `{"action":"create","node":{"key":${goJsonString(`/0/members/${m.id.toString(16)}/raftAttributes`)},"value":${goJsonString(attrsOf(m))},"modifiedIndex":${i + 1},"createdIndex":${i + 1}}}`);
  while (events.length < v2EventHistoryCapacity) events.push('null');
  const n = members.length;
  const stats = `{"getsSuccess":0,"getsFail":0,"setsSuccess":0,"setsFail":0,"deleteSuccess":0,"deleteFail":0,"updateSuccess":0,"updateFail":0,"createSuccess":${n},"createFail":0,"compareAndSwapSuccess":0,"compareAndSwapFail":0,"compareAndDeleteSuccess":0,"compareAndDeleteFail":0,"expireCount":0,"watchers":0}`;
  const root = node('/', 0, null, `{"0":${node('/0', 0, null, `{"members":${node('/0/members', 1, null, `{${memberNodes.join(',')}}`)}}`)},"1":${node('/1', 0, null, '{}')}}`);
  const store = `{"Root":${root},"WatcherHub":{"EventHistory":{"Queue":{"Events":[${events.join(',')}],"Size":${n},"Front":0,"Back":${n % v2EventHistoryCapacity},"Capacity":${v2EventHistoryCapacity}},"StartIndex":1,"LastIndex":${n}}},"CurrentIndex":${n},"Stats":${stats},"CurrentVersion":2}`;
  const confState = members.flatMap((m) => pbVarintField(1, m.id)).concat(pbVarintField(5, 0));
  const snapMeta = [...pbBytesField(1, Buffer.from(confState)), ...pbVarintField(2, commit), ...pbVarintField(3, term)];
  const raftSnap = Buffer.from([...pbBytesField(1, Buffer.from(store)), ...pbBytesField(2, Buffer.from(snapMeta))]);
  const snapFile = Buffer.from([...pbVarintField(1, crc32c(raftSnap)), ...pbBytesField(2, raftSnap)]);
  const snapName = `${term.toString(16).padStart(16, '0')}-${commit.toString(16).padStart(16, '0')}.snap`;
  writeFileSync(join(snapDir, snapName), snapFile, { mode: 0o644 });
  cfg.log('restored snapshot', { path: cfg.snapshotPath, 'wal-dir': cfg.outputWalDir, 'data-dir': cfg.outputDataDir, 'snap-dir': snapDir });
}
