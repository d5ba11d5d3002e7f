// Starts a real etcd (3.4.x from PATH, or the binary in TSETCD_RPC_ETCD_BIN) on free
// ports for a test (through test/kit), and can stop/restart it on the same data dir for outage tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startRealEtcd, type RealEtcd } from '../../../../test/kit/real-etcd.js';

export { freePort };

export interface EtcdHandle {
  endpoint: string; // host:port
  dataDir: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startEtcd(): Promise<EtcdHandle> {
  const bin = process.env.TSETCD_RPC_ETCD_BIN ?? 'etcd';
  const dataDir = mkdtempSync(join(tmpdir(), 'rpc-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `127.0.0.1:${clientPort}`;
  let member: RealEtcd | undefined;
  const start = async () => {
    member = await startRealEtcd({ bin, dir: dataDir, dataDir, clientPort, peerPort, readyTimeoutMs: 15_000 });
  };
  const stop = async () => {
    const m = member;
    member = undefined;
    await m?.kill();
  };
  await start();
  return {
    endpoint,
    dataDir,
    start,
    stop,
    close: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
