// Replays segment files into the state a restarting member needs: metadata, the newest hard
// state, the entries after a snapshot, and the snapshot markers. Also decides where a torn tail
// of the last segment starts (everything after it is repaired away by Wal.open).

import { join } from 'node:path';
import { copyEntryDataToBuffer, type Entry, type HardState } from '@tsetcd/raft';
import {
  WalCorruptError,
  WalIndexGapError,
  WalMetadataConflictError,
  WalSnapshotMismatchError,
  WalSnapshotNotFoundError,
} from './errors.js';
import {
  RecordType,
  decodeEntryBody,
  decodeFrame,
  decodeHardStateBody,
  decodeSnapshotBody,
  claimedFrameBytes,
  frameHeaderBytes,
} from './record.js';
import { SegmentReader } from './segment-reader.js';
import type { SegmentName } from './segment-file.js';

/**
 * The first record of a log in tsetcd's format before it took etcd's: u32 body length 4, type 1
 * (its crc record), three zero bytes. As etcd's length field that is a 4 GiB record.
 */
function isPreEtcdFormat(buf: Buffer): boolean {
  return buf.length >= 8 && buf.readUInt32LE(0) === 4 && buf[4] === 1 && buf[5] === 0 && buf[6] === 0 && buf[7] === 0;
}

/** After a clean end of records, this many following bytes must be zero too. */
export const tailZeroCheckBytes = 1024 * 1024;

export interface WalSnapshot {
  index: number;
  term: number;
}

export interface ReplayResult {
  metadata: Buffer;
  hardState: HardState;
  /** Entries with index > fromSnapshot.index, consecutive, later records winning. */
  entries: Entry[];
  /** Every snapshot marker read, in log order. */
  snapshots: WalSnapshot[];
  /** Chain value after the last valid record. */
  chain: number;
  /** Index of the last entry record in log order (0 when none). */
  tailIndex: number;
  /** Highest snapshot marker index (0 when none). */
  markerIndex: number;
  /** Byte offset right after the last valid record of the last segment. */
  tailOffset: number;
  /** True when the last segment ended in a torn record that must be cut off. */
  torn: boolean;
  tornDetail?: string;
  /** Size of the last segment file as read. */
  tailFileBytes: number;
}

export interface ReplayOptions {
  fromSnapshot: WalSnapshot;
  /** Require a marker matching fromSnapshot (when its index > 0). Default true. */
  requireSnapshotMarker?: boolean;
  /** Collect and check entries. Default true; false only scans markers and hard state. */
  collectEntries?: boolean;
}

export async function replaySegments(dir: string, segments: SegmentName[], opts: ReplayOptions): Promise<ReplayResult> {
  const snap = opts.fromSnapshot;
  const first = snap.index + 1;
  let metadata: Buffer | undefined;
  let hardState: HardState = { term: 0, vote: 0n, commit: 0 };
  const entries: Entry[] = [];
  const snapshots: WalSnapshot[] = [];
  let matched = snap.index === 0;
  let chain: number | undefined;
  let tailIndex = 0;
  let markerIndex = 0;
  let tailOffset = 0;
  let torn = false;
  let tornDetail: string | undefined;
  let tailFileBytes = 0;

  for (let s = 0; s < segments.length; s++) {
    const path = join(dir, segments[s].name);
    const isLast = s === segments.length - 1;
    const reader = await SegmentReader.open(path);
    let off = 0;
    let atStart = true;
    try {
      for (;;) {
        await reader.ensure(off + frameHeaderBytes);
        let buf = reader.view();
        const claimed = claimedFrameBytes(buf, off);
        if (claimed !== undefined) {
          await reader.ensure(off + claimed);
          buf = reader.view();
        }
        const d = decodeFrame(buf, off, chain ?? 0);
        if (d.kind === 'end') {
          // Zeros where a header belongs end the log. Check a bounded window after it for data
          // (a zeroed header in front of live records); the rest of a 64 MiB preallocation is not read.
          if (!(await reader.zeroFrom(off, tailZeroCheckBytes))) {
            throw new WalCorruptError(path, off, 'zero record header followed by non-zero data');
          }
          if (atStart) throw new WalCorruptError(path, off, 'segment holds no records');
          break;
        }
        if (d.kind === 'bad') {
          if (off === 0 && s === 0 && isPreEtcdFormat(buf)) {
            throw new WalCorruptError(path, off, "written in tsetcd's own WAL format of earlier versions, not etcd's; this version reads etcd's only");
          }
          if (isLast && !atStart && (await reader.zeroFrom(d.extentEnd))) {
            torn = true;
            tornDetail = `${d.detail} at byte offset ${off}`;
            break;
          }
          throw new WalCorruptError(path, off, d.detail);
        }
        if (atStart !== (d.type === RecordType.Crc)) {
          throw new WalCorruptError(path, off, atStart ? 'segment does not start with a crc record' : 'crc record inside a segment');
        }
        switch (d.type) {
          case RecordType.Crc:
            if (chain !== undefined && d.chain !== chain) {
              throw new WalCorruptError(path, off, 'crc chain broken: segment does not continue the previous one');
            }
            break;
          case RecordType.Metadata:
            if (metadata === undefined) metadata = Buffer.from(d.body);
            else if (!metadata.equals(d.body)) throw new WalMetadataConflictError(path, off);
            break;
          case RecordType.HardState:
            hardState = decodeHardStateBody(d.body);
            break;
          case RecordType.Snapshot: {
            const m = decodeSnapshotBody(d.body);
            if (m.index > 0) snapshots.push(m); // the zero marker every log starts with names no snapshot
            if (m.index > markerIndex) markerIndex = m.index;
            if (m.index === snap.index && snap.index > 0) {
              if (m.term !== snap.term) throw new WalSnapshotMismatchError(path, off, m.index, snap.term, m.term);
              matched = true;
            }
            break;
          }
          case RecordType.Entry: {
            const e = d.entry ?? decodeEntryBody(d.body); // data: a view into the segment
            tailIndex = e.index;
            if (e.index < first || opts.collectEntries === false) break; // covered by the snapshot
            const expected = first + entries.length;
            if (e.index > expected) throw new WalIndexGapError(path, off, expected, e.index);
            entries.length = e.index - first; // a rewritten index drops the old suffix
            // copied: a kept entry must not pin the whole segment buffer
            entries.push({ index: e.index, term: e.term, type: e.type, data: copyEntryDataToBuffer(e.data) });
            break;
          }
        }
        chain = d.chain;
        atStart = false;
        off = d.next;
      }
    } finally {
      await reader.close();
    }
    if (isLast) {
      tailOffset = off;
      tailFileBytes = reader.fileBytes;
    }
  }
  if (metadata === undefined) throw new WalCorruptError(join(dir, segments[0].name), 0, 'no metadata record');
  if (!matched && (opts.requireSnapshotMarker ?? true)) throw new WalSnapshotNotFoundError(snap.index, snap.term);
  return {
    metadata,
    hardState,
    entries,
    snapshots,
    chain: chain ?? 0,
    tailIndex,
    markerIndex,
    tailOffset,
    torn,
    tornDetail,
    tailFileBytes,
  };
}
