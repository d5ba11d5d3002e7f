// snapshot restore. Writing etcd's data dir (bbolt db with rewritten membership, WAL and v2 snap)
// is not implemented yet: the command validates its input and reports that.

import { existsSync } from 'node:fs';
import { CtlExit, ExitCode } from '../errors.js';

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

export function restoreSnapshot(cfg: RestoreConfig): void {
  if (existsSync(cfg.outputDataDir)) throw new CtlExit(ExitCode.Error, `data-dir ${JSON.stringify(cfg.outputDataDir)} exists`);
  if (!existsSync(cfg.snapshotPath)) throw new CtlExit(ExitCode.Error, `stat ${cfg.snapshotPath}: no such file or directory`);
  throw new CtlExit(ExitCode.Error, 'snapshot restore is not implemented by tsetcdctl yet');
}
