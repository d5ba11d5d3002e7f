// lease, member, endpoint, alarm, defrag, move-leader and version.

import { etcdserverpb } from '@tsetcd/proto';
import type { CommandDef, RunContext } from '../command.js';
import { apiVersion, etcdctlVersion } from '../command.js';
import type { Connection } from '../connection.js';
import { grpcErrorText } from '../connection.js';
import { CtlExit, ExitCode } from '../errors.js';
import { EtcdError, formatGoDuration } from '@tsetcd/common';
import { goQuote, hex16, parseGoInt } from '../go-format.js';
import { SimplePrinter, type EpHashKV, type EpHealth, type EpStatus } from '../printers/index.js';

const bad = (msg: string): never => {
  throw new CtlExit(ExitCode.BadArgs, msg);
};

function leaseFromArg(arg: string): bigint {
  try {
    return parseGoInt(arg, 16);
  } catch (e) {
    return bad(`bad lease ID arg (${(e as Error).message}), expecting ID in Hex`);
  }
}

function memberIdFromArg(arg: string): bigint {
  try {
    return parseGoInt(arg, 16, 'strconv.ParseUint');
  } catch (e) {
    return bad(`bad member ID arg (${(e as Error).message}), expecting ID in Hex`);
  }
}

// ---- lease ----

async function leaseGrant(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('lease grant command needs TTL argument');
  let ttl: bigint;
  try {
    ttl = parseGoInt(ctx.args[0], 10);
  } catch (e) {
    return bad(`bad TTL (${(e as Error).message})`);
  }
  const c = await ctx.session.client();
  const resp = await c.must(c.raw.lease.leaseGrant, { TTL: ttl, ID: 0n }, ExitCode.Error, (t) => `failed to grant lease (${t})`);
  if (resp.error) throw new CtlExit(ExitCode.Error, `failed to grant lease (${resp.error})`);
  ctx.session.display.grant(resp);
}

async function leaseRevoke(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('lease revoke command needs 1 argument');
  const id = leaseFromArg(ctx.args[0]);
  const c = await ctx.session.client();
  const resp = await c.must(c.raw.lease.leaseRevoke, { ID: id }, ExitCode.Error, (t) => `failed to revoke lease (${t})`);
  ctx.session.display.revoke(id, resp);
}

async function leaseTimeToLive(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('lease timetolive command needs lease ID as argument');
  const id = leaseFromArg(ctx.args[0]);
  const keys = ctx.flags.getBool('keys');
  const c = await ctx.session.client();
  const resp = await c.must(c.raw.lease.leaseTimeToLive, { ID: id, keys }, ExitCode.BadConnection, undefined, 0);
  ctx.session.display.timeToLive(resp, keys);
}

async function leaseList(ctx: RunContext): Promise<void> {
  const c = await ctx.session.client();
  const resp = await c.must(c.raw.lease.leaseLeases, {}, ExitCode.BadConnection, undefined, 0);
  ctx.session.display.leases(resp);
}

/** Keeps a lease alive over the LeaseKeepAlive stream, like clientv3's KeepAlive(Once). */
async function leaseKeepAlive(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('lease keep-alive command needs lease ID as argument');
  const id = leaseFromArg(ctx.args[0]);
  const s = ctx.session;
  const c = await s.client();
  const once = ctx.flags.getBool('once');
  let stream: Awaited<ReturnType<typeof c.raw.leaseKeepAlive>>;
  try {
    stream = await c.raw.leaseKeepAlive();
  } catch (e) {
    throw new CtlExit(ExitCode.BadConnection, grpcErrorText(e));
  }
  const lost = () => new CtlExit(ExitCode.BadConnection, 'lease expired or revoked');
  await new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      stream.cancel();
      if (err) reject(err);
      else resolve();
    };
    stream.on('data', (resp: etcdserverpb.LeaseKeepAliveResponse) => {
      if (resp.TTL <= 0n) {
        if (once) return finish(new CtlExit(ExitCode.BadConnection, EtcdError.leaseNotFound.message));
        if (s.display instanceof SimplePrinter) ctx.out.stdout(`lease ${hex16(id)} expired or revoked.\n`);
        return finish();
      }
      s.display.keepAlive(resp);
      if (once) return finish();
      // clientv3 sends the next keep-alive after a third of the TTL.
      timer = setTimeout(() => stream.write({ ID: id }), Math.max(500, (Number(resp.TTL) * 1000) / 3));
    });
    stream.on('error', (e: unknown) => {
      if (done) return;
      finish(new CtlExit(ExitCode.BadConnection, grpcErrorText(e)));
    });
    stream.on('end', () => finish(once ? lost() : undefined));
    const onSignal = () => finish();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    stream.write({ ID: id });
  });
}

const leaseCommand: CommandDef = {
  use: 'lease <subcommand>',
  short: 'Lease related commands',
  children: [
    { use: 'grant <ttl>', short: 'Creates leases', run: leaseGrant },
    { use: 'revoke <leaseID>', short: 'Revokes leases', run: leaseRevoke },
    {
      use: 'timetolive <leaseID> [options]',
      short: 'Get lease information',
      flags: [{ name: 'keys', kind: 'bool', def: 'false', usage: 'Get keys attached to this lease' }],
      run: leaseTimeToLive,
    },
    { use: 'list', short: 'List all active leases', run: leaseList },
    {
      use: 'keep-alive [options] <leaseID>',
      short: 'Keeps leases alive (renew)',
      flags: [{ name: 'once', kind: 'bool', def: 'false', usage: 'Resets the keep-alive time to its original value and exits immediately' }],
      run: leaseKeepAlive,
    },
  ],
};

// ---- member ----

async function memberAdd(ctx: RunContext): Promise<void> {
  const args = ctx.args;
  if (args.length < 1) bad('member name not provided');
  if (args.length > 1) {
    let ev = 'too many arguments';
    for (const s of args) if (s.toLowerCase().startsWith('http')) ev += `, did you mean --peer-urls=${s}`;
    bad(ev);
  }
  const name = args[0];
  const peerURLs = ctx.flags.getString('peer-urls');
  if (peerURLs.length === 0) bad('member peer urls not provided');
  const urls = peerURLs.split(',');
  const s = ctx.session;
  const c = await s.client();
  const resp = await c.must(c.raw.cluster.memberAdd, { peerURLs: urls, isLearner: ctx.flags.getBool('learner') }, ExitCode.Error);
  const newId = resp.member?.ID ?? 0n;
  s.display.memberAdd(resp);
  if (s.display instanceof SimplePrinter) {
    const list = await c.must(c.raw.cluster.memberList, { linearizable: false } as never, ExitCode.Error);
    const conf: string[] = [];
    for (const m of list.members) for (const u of m.peerURLs) conf.push(`${m.ID === newId ? name : m.name}=${u}`);
    ctx.out.stdout('\n');
    ctx.out.stdout(`ETCD_NAME=${goQuote(name)}\n`);
    ctx.out.stdout(`ETCD_INITIAL_CLUSTER=${goQuote(conf.join(','))}\n`);
    ctx.out.stdout(`ETCD_INITIAL_ADVERTISE_PEER_URLS=${goQuote(peerURLs)}\n`);
    ctx.out.stdout('ETCD_INITIAL_CLUSTER_STATE="existing"\n');
  }
}

async function memberRemove(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('member ID is not provided');
  const id = memberIdFromArg(ctx.args[0]);
  const c = await ctx.session.client();
  const resp = await c.must(c.raw.cluster.memberRemove, { ID: id }, ExitCode.Error);
  ctx.session.display.memberRemove(id, resp);
}

async function memberUpdate(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('member ID is not provided');
  const id = memberIdFromArg(ctx.args[0]);
  const peerURLs = ctx.flags.getString('peer-urls');
  if (peerURLs.length === 0) bad('member peer urls not provided');
  const c = await ctx.session.client();
  const resp = await c.must(c.raw.cluster.memberUpdate, { ID: id, peerURLs: peerURLs.split(',') }, ExitCode.Error);
  ctx.session.display.memberUpdate(id, resp);
}

async function memberList(ctx: RunContext): Promise<void> {
  const c = await ctx.session.client();
  const resp = await c.must(c.raw.cluster.memberList, {}, ExitCode.Error);
  ctx.session.display.memberList(resp);
}

async function memberPromote(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('member ID is not provided');
  const id = memberIdFromArg(ctx.args[0]);
  const c = await ctx.session.client();
  const resp = await c.must(c.raw.cluster.memberPromote, { ID: id }, ExitCode.Error);
  ctx.session.display.memberPromote(id, resp);
}

const memberCommand: CommandDef = {
  use: 'member <subcommand>',
  short: 'Membership related commands',
  children: [
    {
      use: 'add <memberName> [options]',
      short: 'Adds a member into the cluster',
      flags: [
        { name: 'peer-urls', kind: 'string', def: '', usage: 'comma separated peer URLs for the new member.' },
        { name: 'learner', kind: 'bool', def: 'false', usage: 'indicates if the new member is raft learner' },
      ],
      run: memberAdd,
    },
    { use: 'remove <memberID>', short: 'Removes a member from the cluster', run: memberRemove },
    {
      use: 'update <memberID> [options]',
      short: 'Updates a member in the cluster',
      flags: [{ name: 'peer-urls', kind: 'string', def: '', usage: 'comma separated peer URLs for the updated member.' }],
      run: memberUpdate,
    },
    {
      use: 'list',
      short: 'Lists all members in the cluster',
      long: 'When --write-out is set to simple, this command prints out comma-separated member lists for each endpoint.\nThe items in the lists are ID, Status, Name, Peer Addrs, Client Addrs, Is Learner.\n',
      run: memberList,
    },
    { use: 'promote <memberID>', short: 'Promotes a non-voting member in the cluster', long: 'Promotes a non-voting learner member to a voting one in the cluster.\n', run: memberPromote },
  ],
};

// ---- endpoint ----

/** endpointsFromCluster: --endpoints, or every client URL of the member list with --cluster. */
async function endpointsFromCluster(ctx: RunContext): Promise<string[]> {
  if (!ctx.flags.getBool('cluster')) return ctx.session.endpoints();
  const s = ctx.session;
  const cfg = await s.clientConfig([], false);
  const c = await s.clientFor(cfg.endpoints[0] ?? '127.0.0.1:2379', cfg);
  let resp: etcdserverpb.MemberListResponse;
  try {
    resp = await c.call(c.raw.cluster.memberList, {});
  } catch (e) {
    throw new CtlExit(ExitCode.Error, `failed to fetch endpoints from etcd cluster member list: ${grpcErrorText(e)}`);
  }
  return resp.members.flatMap((m) => m.clientURLs);
}

async function epHealth(ctx: RunContext): Promise<void> {
  const s = ctx.session;
  const cfg = await s.clientConfig();
  const eps = await endpointsFromCluster(ctx);
  // Results are listed in completion order (etcdctl collects them from a channel).
  const results: EpHealth[] = [];
  await Promise.all(
    eps.map(async (ep): Promise<void> => {
      const start = process.hrtime.bigint();
      let error = '';
      try {
        const c = await s.clientFor(ep, cfg);
        await c.call(c.raw.kv.range, etcdserverpb.RangeRequest.fromPartial({ key: Buffer.from('health') }));
      } catch (e) {
        const text = grpcErrorText(e);
        if (text !== EtcdError.permissionDenied.message) error = text;
      }
      const took = formatGoDuration(process.hrtime.bigint() - start);
      results.push({ ep, health: error === '', took, error });
    }),
  );
  s.display.endpointHealth(results);
  if (results.some((h) => h.error !== '')) throw new CtlExit(ExitCode.Error, 'unhealthy cluster');
}

async function epStatus(ctx: RunContext): Promise<void> {
  const s = ctx.session;
  const cfg = await s.clientConfig();
  const list: EpStatus[] = [];
  let failed = false;
  for (const ep of await endpointsFromCluster(ctx)) {
    try {
      const c = await s.clientFor(ep, cfg);
      list.push({ ep, resp: await c.call(c.raw.maintenance.status, {}) });
    } catch (e) {
      failed = true;
      ctx.out.stderr(`Failed to get the status of endpoint ${ep} (${grpcErrorText(e)})\n`);
    }
  }
  s.display.endpointStatus(list);
  if (failed) throw new CtlExit(ExitCode.Error, '');
}

async function epHashKV(ctx: RunContext): Promise<void> {
  const s = ctx.session;
  const cfg = await s.clientConfig();
  const list: EpHashKV[] = [];
  let lastErr = '';
  for (const ep of await endpointsFromCluster(ctx)) {
    try {
      const c = await s.clientFor(ep, cfg);
      list.push({ ep, resp: await c.call(c.raw.maintenance.hashKV, { revision: ctx.flags.getInt('rev') }) });
    } catch (e) {
      lastErr = grpcErrorText(e);
      ctx.out.stderr(`Failed to get the hash of endpoint ${ep} (${lastErr})\n`);
    }
  }
  s.display.endpointHashKV(list);
  if (lastErr) throw new CtlExit(ExitCode.Error, lastErr);
}

const clusterFlag = { name: 'cluster', kind: 'bool' as const, def: 'false', usage: 'use all endpoints from the cluster member list' };

const endpointCommand: CommandDef = {
  use: 'endpoint <subcommand>',
  short: 'Endpoint related commands',
  persistentFlags: [clusterFlag],
  children: [
    { use: 'health', short: 'Checks the healthiness of endpoints specified in `--endpoints` flag', run: epHealth },
    {
      use: 'status',
      short: 'Prints out the status of endpoints specified in `--endpoints` flag',
      long: 'When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.\nThe items in the lists are endpoint, ID, version, db size, is leader, is learner, raft term, raft index, raft applied index, errors.\n',
      run: epStatus,
    },
    {
      use: 'hashkv',
      short: 'Prints the KV history hash for each endpoint in --endpoints',
      persistentFlags: [{ name: 'rev', kind: 'int64', def: '0', usage: 'maximum revision to hash (default: all revisions)' }],
      run: epHashKV,
    },
  ],
};

// ---- alarm / defrag / move-leader / version ----

async function alarmList(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 0) bad('alarm list command accepts no arguments');
  const c = await ctx.session.client();
  const resp = await c.must(c.raw.maintenance.alarm, { action: etcdserverpb.AlarmRequest_AlarmAction.GET, memberID: 0n, alarm: etcdserverpb.AlarmType.NONE }, ExitCode.Error);
  ctx.session.display.alarm(resp);
}

/** clientv3.AlarmDisarm with no member/alarm: lists the alarms, then disarms each one. */
async function alarmDisarm(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 0) bad('alarm disarm command accepts no arguments');
  const c = await ctx.session.client();
  const list = await c.must(c.raw.maintenance.alarm, { action: etcdserverpb.AlarmRequest_AlarmAction.GET, memberID: 0n, alarm: etcdserverpb.AlarmType.NONE }, ExitCode.Error);
  let ret: etcdserverpb.AlarmResponse = { header: undefined, alarms: [] };
  for (const a of list.alarms) {
    const r = await c.must(c.raw.maintenance.alarm, { action: etcdserverpb.AlarmRequest_AlarmAction.DEACTIVATE, memberID: a.memberID, alarm: a.alarm }, ExitCode.Error);
    ret = { header: ret.header, alarms: [...ret.alarms, ...r.alarms] };
  }
  ctx.session.display.alarm(ret);
}

async function defragRun(ctx: RunContext): Promise<void> {
  const dataDir = ctx.flags.getString('data-dir');
  if (dataDir.length > 0) {
    ctx.out.stderr(`Failed to defragment etcd data[${dataDir}] (offline defragmentation is not supported by tsetcdctl)\n`);
    throw new CtlExit(ExitCode.Error, '');
  }
  const s = ctx.session;
  const cfg = await s.clientConfig();
  let failures = 0;
  for (const ep of await endpointsFromCluster(ctx)) {
    try {
      const c: Connection = await s.clientFor(ep, cfg);
      await c.call(c.raw.maintenance.defragment, {});
      ctx.out.stdout(`Finished defragmenting etcd member[${ep}]\n`);
    } catch (e) {
      ctx.out.stderr(`Failed to defragment etcd member[${ep}] (${grpcErrorText(e)})\n`);
      failures++;
    }
  }
  if (failures !== 0) throw new CtlExit(ExitCode.Error, '');
}

async function moveLeaderRun(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('move-leader command needs 1 argument');
  let target: bigint;
  try {
    target = parseGoInt(ctx.args[0], 16, 'strconv.ParseUint');
  } catch (e) {
    return bad((e as Error).message);
  }
  const s = ctx.session;
  const cfg = await s.clientConfig();
  let leaderId = 0n;
  let leaderEp = '';
  for (const ep of cfg.endpoints) {
    const c = await s.clientFor(ep, cfg);
    const st = await c.must(c.raw.maintenance.status, {}, ExitCode.Error);
    if ((st.header?.memberId ?? 0n) === st.leader) {
      leaderId = st.leader;
      leaderEp = ep;
      break;
    }
  }
  if (leaderEp === '') throw new CtlExit(ExitCode.BadArgs, 'no leader endpoint given at [' + cfg.endpoints.join(' ') + ']');
  const lc = await s.clientFor(leaderEp, cfg);
  const resp = await lc.must(lc.raw.maintenance.moveLeader, { targetID: target }, ExitCode.Error);
  s.display.moveLeader(leaderId, target, resp);
}

export const clusterCommands: CommandDef[] = [
  leaseCommand,
  memberCommand,
  endpointCommand,
  {
    use: 'alarm <subcommand>',
    short: 'Alarm related commands',
    children: [
      { use: 'disarm', short: 'Disarms all alarms', run: alarmDisarm },
      { use: 'list', short: 'Lists all alarms', run: alarmList },
    ],
  },
  {
    use: 'defrag',
    short: 'Defragments the storage of the etcd members with given endpoints',
    persistentFlags: [clusterFlag],
    flags: [{ name: 'data-dir', kind: 'string', def: '', usage: 'Optional. If present, defragments a data directory not in use by etcd.' }],
    run: defragRun,
  },
  { use: 'move-leader <transferee-member-id>', short: 'Transfers leadership to another etcd cluster member.', run: moveLeaderRun },
  {
    use: 'version',
    short: 'Prints the version of etcdctl',
    run: (ctx) => {
      ctx.out.stdout(`etcdctl version: ${etcdctlVersion}\nAPI version: ${apiVersion}\n`);
    },
  },
];
