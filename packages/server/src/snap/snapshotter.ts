// Snapshot files: one file per raft snapshot, written atomically (temporary file, fsync, rename,
// directory fsync) and checked with CRC-32C on load. A corrupt file is renamed `.broken` and the
// next older one is tried. A file is written and read whole; a loaded snapshot's data
// is one Buffer (etcd's format: snappb.Snapshot, see snap-file.ts), so its size is limited by buffer.constants.MAX_LENGTH (4 GiB on 64-bit Node 20).

import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { constants as bufferConstants } from 'node:buffer';
import { join } from 'node:path';
import type { Snapshot, SnapshotMetadata } from '@tsetcd/raft';
import { failpoint } from '../failpoint/failpoint.js';
import { syncDir } from '../wal/segment-file.js';
import { SnapCorruptError, SnapInvalidError } from './errors.js';
import { decodeSnapFile, encodeSnapFile, parseSnapFileName, snapBrokenSuffix, snapFileName, snapSuffix, snapTmpSuffix } from './snap-file.js';

export const snapKeepDefaultCount = 5;
export const snapChunkBytes = 4 * 1024 * 1024;

export interface SnapshotterOptions {
  /** How many snapshot files save() keeps (newest first). Default 5; 0 keeps all. */
  keep?: number;
  /** Told about files renamed to .broken. */
  onWarning?: (message: string) => void;
}

export interface SnapFileInfo {
  name: string;
  term: number;
  index: number;
}

async function writeAll(fh: FileHandle, buf: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, Math.min(snapChunkBytes, buf.length - done), position + done);
    if (bytesWritten <= 0) throw new Error(`write returned ${bytesWritten}`);
    done += bytesWritten;
  }
  return done;
}

export class Snapshotter {
  readonly dir: string;
  private readonly keep: number;
  private readonly onWarning?: (message: string) => void;

  constructor(dir: string, opts: SnapshotterOptions = {}) {
    this.dir = dir;
    this.keep = opts.keep ?? snapKeepDefaultCount;
    if (!Number.isSafeInteger(this.keep) || this.keep < 0) throw new RangeError(`snap: keep must be >= 0, got ${this.keep}`);
    this.onWarning = opts.onWarning;
  }

  /** Writes the snapshot durably as <term>-<index>.snap, then purges old files. Returns the file name. */
  async save(snapshot: Snapshot): Promise<string> {
    const { metadata } = snapshot;
    if (metadata.index < 1) throw new SnapInvalidError('snap: snapshot index must be >= 1');
    const file = encodeSnapFile(metadata, snapshot.data); // validates the numbers
    failpoint('snapshotBeforeSave');
    await mkdir(this.dir, { recursive: true });
    const name = snapFileName(metadata.term, metadata.index);
    const tmp = join(this.dir, name + snapTmpSuffix);
    const fh = await open(tmp, 'w');
    try {
      await writeAll(fh, file, 0);
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true }).catch(() => {});
      throw err;
    }
    await fh.close();
    await rename(tmp, join(this.dir, name));
    await syncDir(this.dir);
    failpoint('snapshotAfterSave');
    await this.purge();
    return name;
  }

  /** Like save(), with the data given as chunks (etcd's format needs the whole length up front: they are joined). */
  async saveStream(metadata: SnapshotMetadata, data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<string> {
    const parts: Uint8Array[] = [];
    for await (const chunk of data) parts.push(chunk);
    return this.save({ metadata, data: Buffer.concat(parts) });
  }

  /** Snapshot files, newest (highest term, then index) first. Missing dir → []. */
  async list(): Promise<SnapFileInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: SnapFileInfo[] = [];
    for (const name of names) {
      const p = parseSnapFileName(name);
      if (p) out.push({ name, ...p });
    }
    return out.sort((a, b) => b.term - a.term || b.index - a.index);
  }

  /** Reads and verifies one snapshot file. Throws SnapCorruptError when it does not check out. */
  async load(name: string): Promise<Snapshot> {
    const path = join(this.dir, name);
    const fh = await open(path, 'r');
    let file: Buffer;
    try {
      const size = (await fh.stat()).size;
      if (size > bufferConstants.MAX_LENGTH) throw new SnapCorruptError(path, `file of ${size} bytes exceeds the Buffer limit`);
      file = Buffer.allocUnsafe(size);
      for (let off = 0; off < size; ) {
        const { bytesRead } = await fh.read(file, off, Math.min(snapChunkBytes, size - off), off);
        if (bytesRead === 0) throw new SnapCorruptError(path, 'file shrank while reading');
        off += bytesRead;
      }
    } finally {
      await fh.close();
    }
    let decoded: ReturnType<typeof decodeSnapFile>;
    try {
      decoded = decodeSnapFile(file);
    } catch (reason) {
      if (typeof reason === 'string') throw new SnapCorruptError(path, reason);
      throw reason;
    }
    const { meta, data } = decoded;
    const named = parseSnapFileName(name);
    if (named && (named.term !== meta.term || named.index !== meta.index)) {
      throw new SnapCorruptError(path, `snapshot says term ${meta.term} index ${meta.index}, name disagrees`);
    }
    return { metadata: meta, data };
  }

  /**
   * The newest snapshot that loads cleanly. With walSnapshots (markers from the WAL, see
   * Wal.validSnapshotMarkers), only files matching one of them are considered. Corrupt files are
   * renamed `<name>.broken`. Returns undefined when there is none.
   */
  async loadNewestAvailable(walSnapshots?: ReadonlyArray<{ index: number; term: number }>): Promise<Snapshot | undefined> {
    await this.removeTmpFiles();
    for (const f of await this.list()) {
      if (walSnapshots && !walSnapshots.some((w) => w.index === f.index && w.term === f.term)) continue;
      try {
        return await this.load(f.name);
      } catch (err) {
        if (!(err instanceof SnapCorruptError)) throw err;
        const from = join(this.dir, f.name);
        await rename(from, from + snapBrokenSuffix);
        await syncDir(this.dir);
        this.onWarning?.(`snap: ${err.message}; renamed to ${f.name + snapBrokenSuffix}`);
      }
    }
    return undefined;
  }

  /** Removes temporary files left by a save() that crashed before its rename (call at startup). */
  async removeTmpFiles(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const tmps = names.filter((n) => n.endsWith(snapSuffix + snapTmpSuffix));
    for (const n of tmps) await rm(join(this.dir, n), { force: true });
    if (tmps.length > 0) await syncDir(this.dir);
  }

  /** Deletes all but the newest `keep` snapshot files. */
  async purge(): Promise<string[]> {
    const removed: string[] = [];
    if (this.keep > 0) {
      for (const f of (await this.list()).slice(this.keep)) {
        await rm(join(this.dir, f.name), { force: true });
        removed.push(f.name);
      }
    }
    if (removed.length > 0) await syncDir(this.dir);
    return removed;
  }
}
