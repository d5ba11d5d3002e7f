// Start-up order, as etcd 3.4: a member binds its client port at once but serves it only after
// it has published itself through raft (etcd's serve waits on ReadyNotify), while the
// --listen-metrics-urls listener serves /metrics and /health from the start. A lone member of a
// 2-member cluster therefore answers no client until the second member joins; the connections
// made meanwhile are then served. The same checks run on real etcd.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { ProcessCluster, electionMs } from './kit/cluster.js';
import { freePort } from './kit/real-etcd.js';
import { eventually } from './kit/wait.js';

async function loneMemberWaitsForItsPeer(t: TestContext, bin?: string): Promise<void> {
  const c = await ProcessCluster.create(t, { bin });
  await c.addSpec();
  await c.addSpec();
  const metricsUrl = `http://127.0.0.1:${await freePort()}`;
  const first = c.startMember(0, 'new', undefined, ['--listen-metrics-urls', metricsUrl]);
  first.catch(() => undefined); // awaited below, once the second member runs

  // the metrics listener serves before publishing: no leader yet, so unhealthy
  const health = await eventually('/health on the metrics listener', 30_000, async () => {
    try {
      const r = await fetch(`${metricsUrl}/health`);
      return { status: r.status, type: r.headers.get('content-type'), nosniff: r.headers.get('x-content-type-options'), body: await r.text() };
    } catch {
      return undefined;
    }
  });
  // (etcd's http.Error: text/plain, nosniff, a trailing newline)
  assert.deepEqual(health, { status: 503, type: 'text/plain; charset=utf-8', nosniff: 'nosniff', body: '{"health":"false"}\n' });
  assert.match(await (await fetch(`${metricsUrl}/metrics`)).text(), /^etcd_server_has_leader 0$/m);

  // the client port is bound (a connection is accepted) but requests are not answered
  const sock = net.connect(c.members[0].clientPort, '127.0.0.1');
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  sock.destroy();
  const abort = new AbortController();
  t.after(() => abort.abort());
  const answered: string[] = [];
  const clientHealth = fetch(`${c.clientUrl(0)}/health`, { signal: abort.signal }).then(async (r) => {
    answered.push('/health');
    return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
  });
  const status = fetch(`${c.clientUrl(0)}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: abort.signal }).then(async (r) => {
    answered.push('status');
    return { status: r.status, body: (await r.json()) as { leader?: string } };
  });
  clientHealth.catch(() => undefined);
  status.catch(() => undefined);
  // a member that served would answer within milliseconds; give it a few election timeouts
  await new Promise((r) => setTimeout(r, 3 * electionMs));
  assert.deepEqual(answered, [], 'a lone member answers no client request before it has published itself');

  // the second member joins: the first publishes, and the waiting requests are served
  await Promise.all([first, c.startMember(1, 'new')]);
  assert.deepEqual(await clientHealth, { status: 200, type: 'text/plain; charset=utf-8', body: '{"health":"true"}' });
  const s = await status;
  assert.equal(s.status, 200);
  assert.ok(s.body.leader !== undefined && s.body.leader !== '0', `a leader in ${JSON.stringify(s.body)}`);
  const st = await c.status(0);
  assert.ok(st !== undefined && st.leader !== 0n);
}

test('a lone member of a 2-member cluster serves clients only once its peer joins (metrics at once)', async (t) => {
  await loneMemberWaitsForItsPeer(t);
});

test('real etcd: the same start-up order', async (t) => {
  await loneMemberWaitsForItsPeer(t, 'etcd');
});
