// make-mirror, check (perf, datascale) and migrate.

import type { CommandDef, RunContext } from '../command.js';
import { CtlExit, ExitCode } from '../errors.js';

function notYet(name: string) {
  return (_ctx: RunContext): void => {
    throw new CtlExit(ExitCode.BadFeature, `${name} is not implemented by tsetcdctl yet`);
  };
}

export const mirrorCommands: CommandDef[] = [
  {
    use: 'make-mirror [options] <destination>',
    short: 'Makes a mirror at the destination etcd cluster',
    flags: [
      { name: 'prefix', kind: 'string', def: '', usage: 'Key-value prefix to mirror' },
      { name: 'dest-prefix', kind: 'string', def: '', usage: 'destination prefix to mirror a prefix to a different prefix in the destination cluster' },
      { name: 'no-dest-prefix', kind: 'bool', def: 'false', usage: 'mirror key-values to the root of the destination cluster' },
      { name: 'dest-cacert', kind: 'string', def: '', usage: 'Verify certificates of TLS enabled secure servers using this CA bundle' },
      { name: 'dest-cert', kind: 'string', def: '', usage: 'Identify secure client using this TLS certificate file for the destination cluster' },
      { name: 'dest-key', kind: 'string', def: '', usage: 'Identify secure client using this TLS key file' },
      { name: 'dest-insecure-transport', kind: 'bool', def: 'true', usage: 'Disable transport security for client connections' },
    ],
    run: notYet('make-mirror'),
  },
  {
    use: 'migrate',
    short: 'Migrates keys in a v2 store to a mvcc store',
    flags: [
      { name: 'no-ttl', kind: 'bool', def: 'false', usage: 'Do not convert TTL keys' },
      { name: 'data-dir', kind: 'string', def: '', usage: 'Path to the data directory' },
      { name: 'wal-dir', kind: 'string', def: '', usage: 'Path to the WAL directory' },
      { name: 'transformer', kind: 'string', def: '', usage: 'Path to the user-provided transformer program' },
    ],
    run: notYet('migrate'),
  },
  {
    use: 'check <subcommand>',
    short: 'commands for checking properties of the etcd cluster',
    children: [
      {
        use: 'perf [options]',
        short: 'Check the performance of the etcd cluster',
        flags: [
          { name: 'load', kind: 'string', def: 's', usage: "The performance check's workload model. Accepted workloads: s(small), m(medium), l(large), xl(xLarge)" },
          { name: 'prefix', kind: 'string', def: '/etcdctl-check-perf/', usage: "The prefix for writing the performance check's keys." },
          { name: 'auto-compact', kind: 'bool', def: 'false', usage: 'Compact storage with last revision after test is finished.' },
          { name: 'auto-defrag', kind: 'bool', def: 'false', usage: 'Defragment storage after test is finished.' },
        ],
        run: notYet('check perf'),
      },
      {
        use: 'datascale [options]',
        short: 'Check the memory usage of holding data for different workloads on a given server endpoint.',
        long: 'If no endpoint is provided, localhost will be used. If multiple endpoints are provided, first endpoint will be used.',
        flags: [
          { name: 'load', kind: 'string', def: 's', usage: "The datascale check's workload model. Accepted workloads: s(small), m(medium), l(large), xl(xLarge)" },
          { name: 'prefix', kind: 'string', def: '/etcdctl-check-datascale/', usage: "The prefix for writing the datascale check's keys." },
          { name: 'auto-compact', kind: 'bool', def: 'false', usage: 'Compact storage with last revision after test is finished.' },
          { name: 'auto-defrag', kind: 'bool', def: 'false', usage: 'Defragment storage after test is finished.' },
        ],
        run: notYet('check datascale'),
      },
    ],
  },
];
