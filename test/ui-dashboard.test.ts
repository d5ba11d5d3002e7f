// The web dashboard end to end in real Chromium (Debian's chromium through playwright-core):
// a tsetcd member with --enable-ui, changes made with the real etcdctl beside the page, auth
// with a user who may read only part of the key space, a 3-member cluster losing a member,
// and `tsetcd ui` in front of a real etcd 3.4. Every screen's screenshot is written to
// $UI_SCREENSHOT_DIR (docs/ui holds the README's set) or a temp folder.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startCluster } from '@tsetcd/server/testing';
import { launchChromium, screenshotDir, type Browser } from './chromium.js';
import { freePort } from './kit/real-etcd.js';
import { eventually } from './kit/wait.js';
import { startEtcd } from './differential/harness.js';
import { startTsetcd, tempDir, tsetcdBin, type TsetcdProcess } from './kit/tsetcd-process.js';

const waitMs = 15_000;
let browser: Browser;
let shots: string;

before(async () => {
  browser = await launchChromium();
  shots = await screenshotDir();
});
after(async () => {
  await browser.close();
  assert.deepEqual(browser.problems, [], 'no script errors in any page');
});

function etcdctl(endpoint: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('etcdctl', ['--endpoints', endpoint, '--command-timeout', '5s', ...args], { env: { ...process.env, ETCDCTL_API: '3' } }, (err, stdout, stderr) =>
      err ? reject(new Error(`etcdctl ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
    );
  });
}

/** A value through the JSON gateway (bytes etcdctl cannot type, many keys fast). */
async function gatewayPut(endpoint: string, key: string, value: Buffer | string): Promise<void> {
  const res = await fetch(`http://${endpoint}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') }) });
  assert.equal(res.status, 200, await res.text());
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function open(endpoint: string, screen: string, viewport?: { width: number; height: number }): Promise<Page> {
  const page = await browser.page(viewport);
  await page.goto(`http://${endpoint}/ui/#/${screen}`);
  return page;
}

/** The Watch screen's state line reads `re`. */
async function watchState(page: Page, re: RegExp): Promise<void> {
  await page.locator('.watch-state', { hasText: re }).waitFor({ timeout: waitMs });
}

test('Keys: tree and flat list with paging, JSON/YAML/hex values, history, create/edit/delete as compare-and-swap', async (t) => {
  const srv = await startTsetcd(t, await tempDir(t), ['--enable-ui']);
  const ep = srv.endpoint;
  await eventually('the dashboard URL in the log', 5000, async () => srv.logs.find((l) => l.includes(`"msg":"web dashboard: open http://${ep}/ui/"`)));
  // without --enable-ui nothing is served at /ui/: see the flag test below
  await etcdctl(ep, 'put', '/app/config/db', '{"host":"db1","port":5432,"tags":["a","b"]}');
  await etcdctl(ep, 'put', '/app/config/db', '{"host":"db2","port":5432,"tags":["a","b"]}');
  await etcdctl(ep, 'put', '/app/name', 'hello');
  await gatewayPut(ep, '/bin/blob', Buffer.from([0, 1, 2, 0xff, 0x41]));
  for (let i = 0; i < 150; i++) await gatewayPut(ep, `/many/k${String(i).padStart(3, '0')}`, `v${i}`);
  for (const d of ['a', 'b', 'c']) for (let i = 0; i < 80; i++) await gatewayPut(ep, `/tree/${d}/${i}`, 'x');
  await gatewayPut(ep, '/tree/leaf', 'x');

  const page = await open(ep, 'keys');
  // keyboard only: the first Tab reaches the skip link, which moves on to the screen
  await page.getByLabel('Key prefix').waitFor({ timeout: waitMs });
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
  // a screen chosen from the navigation puts the focus on its heading
  await page.getByRole('link', { name: 'Leases' }).focus();
  await page.keyboard.press('Enter');
  await eventually('focus on the Leases heading', waitMs, async () => ((await page.evaluate(() => document.activeElement?.textContent)) === 'Leases' ? true : undefined));
  await page.getByRole('link', { name: 'Keys' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Keys' }).waitFor({ timeout: waitMs });
  // the prefix field by its label, Enter searches
  await page.getByLabel('Key prefix').focus();
  await page.keyboard.type('/app/');
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'config/ (folder)' }).click();
  await page.getByRole('button', { name: 'db', exact: true }).click();
  const value = page.locator('pre.value');
  await value.filter({ hasText: '"host": "db2"' }).waitFor({ timeout: waitMs });
  await page.getByText('YAML', { exact: true }).click();
  await value.filter({ hasText: /host: db2\nport: 5432\ntags:\n  - a\n  - b/ }).waitFor({ timeout: waitMs });
  await page.getByRole('button', { name: 'History' }).click();
  await page.locator('ol.versions li').nth(1).filter({ hasText: 'version 1' }).waitFor({ timeout: waitMs });
  assert.equal(await page.locator('ol.versions li').count(), 2);

  // edit: saved only at the mod revision shown
  const edit = page.getByRole('button', { name: 'Edit', exact: true });
  await edit.focus();
  await page.keyboard.press('Enter');
  await page.getByLabel('Value').fill('{"host":"db3"}');
  await page.getByRole('button', { name: 'Save' }).click();
  await value.filter({ hasText: '"host": "db3"' }).waitFor({ timeout: waitMs });
  assert.equal(await etcdctl(ep, 'get', '/app/config/db', '--print-value-only'), '{"host":"db3"}\n');

  // a change made elsewhere while editing is reported, not overwritten
  await page.getByRole('button', { name: 'Edit', exact: true }).click();
  await page.getByLabel('Value').fill('{"host":"mine"}');
  await etcdctl(ep, 'put', '/app/config/db', '{"host":"theirs"}');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('alert').filter({ hasText: /changed after you opened it at mod revision \d+; it is now at mod revision \d+/ }).waitFor({ timeout: waitMs });
  assert.equal(await etcdctl(ep, 'get', '/app/config/db', '--print-value-only'), '{"host":"theirs"}\n');

  // create: only if absent
  await page.getByRole('button', { name: 'New key' }).click();
  await page.getByLabel('Key', { exact: true }).fill('/app/created');
  await page.getByLabel('Value').fill('v1');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('.detail h2', { hasText: '/app/created' }).waitFor({ timeout: waitMs });
  assert.equal(await etcdctl(ep, 'get', '/app/created', '--print-value-only'), 'v1\n');
  await page.getByRole('button', { name: 'New key' }).click();
  await page.getByLabel('Key', { exact: true }).fill('/app/created');
  await page.getByLabel('Value').fill('v2');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('alert').filter({ hasText: 'Not created: /app/created already exists' }).waitFor({ timeout: waitMs });
  assert.equal(await etcdctl(ep, 'get', '/app/created', '--print-value-only'), 'v1\n');

  // delete, confirmed at the revision shown
  await page.locator('.crumbs').getByRole('button', { name: 'app/' }).click();
  await page.getByRole('button', { name: 'name', exact: true }).click();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByRole('button', { name: /^Delete at revision \d+$/ }).click();
  await page.getByText('Deleted /app/name').waitFor({ timeout: waitMs });
  assert.equal(await etcdctl(ep, 'get', '/app/name'), '');

  // binary values as hex
  await page.getByLabel('Key prefix').fill('/bin/');
  await page.getByLabel('Key prefix').press('Enter');
  await page.getByRole('button', { name: 'blob', exact: true }).click();
  await value.filter({ hasText: '00 01 02 ff 41' }).waitFor({ timeout: waitMs });
  assert.equal(await page.getByLabel('Text', { exact: true }).isDisabled(), true);

  // paging: a page of 100, then the rest from the last key
  await page.getByLabel('Show').selectOption('flat');
  await page.getByLabel('Key prefix').fill('/many/');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText('150 keys under "/many/"').waitFor({ timeout: waitMs });
  await eventually('a first page of 100 keys', waitMs, async () => ((await page.locator('.key-list li').count()) === 100 ? true : undefined));
  await page.getByRole('button', { name: 'Load more' }).click();
  await eventually('all 150 keys', waitMs, async () => ((await page.locator('.key-list li').count()) === 150 ? true : undefined));
  assert.equal(await page.getByRole('button', { name: 'Load more' }).isHidden(), true);
  assert.equal(await page.locator('.key-list li').last().textContent(), '/many/k149');

  // the tree lists each directory once however many keys it holds
  await page.getByLabel('Show').selectOption('tree');
  await page.getByLabel('Key prefix').fill('/tree/');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText('241 keys under "/tree/"').waitFor({ timeout: waitMs });
  await eventually('the tree of /tree/', waitMs, async () => {
    const items = await page.locator('.key-list li').allTextContents();
    return items.join(',') === '▸ a/ (folder),▸ b/ (folder),▸ c/ (folder),leaf' ? true : undefined;
  });
  await page.getByRole('button', { name: 'a/ (folder)' }).click();
  await page.getByText('80 keys under "/tree/a/"').waitFor({ timeout: waitMs });

  await page.getByLabel('Key prefix').fill('/app/');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('button', { name: 'config/ (folder)' }).click();
  await page.getByRole('button', { name: 'db', exact: true }).click();
  await value.filter({ hasText: 'theirs' }).waitFor({ timeout: waitMs });
  await shot(page, 'keys');
  const phone = await open(ep, 'keys', { width: 390, height: 844 });
  await phone.getByLabel('Key prefix').fill('/app/config/');
  await phone.getByLabel('Key prefix').press('Enter');
  await phone.getByRole('button', { name: 'db', exact: true }).click();
  await phone.locator('pre.value').filter({ hasText: 'theirs' }).waitFor({ timeout: waitMs });
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page fits a phone's width (${overflow}px too wide)`);
  await shot(phone, 'keys-phone');
  await phone.close();
  await page.close();
});

test('Watch: a put made by etcdctl appears with its diff; pause/resume and a member restart lose no event', async (t) => {
  const dir = await tempDir(t);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ['--listen-client-urls', url, '--advertise-client-urls', url, '--enable-ui'];
  let srv: TsetcdProcess = await startTsetcd(t, dir, args);
  const ep = srv.endpoint;
  await etcdctl(ep, 'put', '/w/a', 'one');
  const page = await open(ep, 'watch');
  await page.getByLabel('Key prefix').fill('/w/');
  await page.getByRole('button', { name: 'Watch', exact: true }).click();
  await watchState(page, /^Watching/);
  await etcdctl(ep, 'put', '/w/a', 'two\nlines');
  const event = (key: string, text: string) => page.locator(`li.event[data-key="${key}"]`, { hasText: text });
  await event('/w/a', '- one').waitFor({ timeout: waitMs });
  await event('/w/a', '+ two').waitFor({ timeout: waitMs });
  await etcdctl(ep, 'put', '/outside', 'x');
  await etcdctl(ep, 'del', '/w/a');
  await page.locator('li.event.delete[data-key="/w/a"]').waitFor({ timeout: waitMs });
  assert.equal(await page.locator('li.event[data-key="/outside"]').count(), 0);

  // paused: nothing shown; resumed: what happened meanwhile, nothing skipped
  await page.getByRole('button', { name: 'Pause' }).click();
  await watchState(page, /^Paused/);
  await etcdctl(ep, 'put', '/w/b', 'during pause');
  assert.equal(await page.locator('li.event[data-key="/w/b"]').count(), 0);
  await page.getByRole('button', { name: 'Resume' }).click();
  await event('/w/b', '+ during pause').waitFor({ timeout: waitMs });

  // the member stops and comes back: the stream reconnects at the next revision
  srv.child.kill('SIGTERM');
  await srv.exited;
  await watchState(page, /^Reconnecting/);
  srv = await startTsetcd(t, dir, args);
  await etcdctl(ep, 'put', '/w/c', 'after restart');
  await etcdctl(ep, 'put', '/w/c', 'again');
  await event('/w/c', '+ after restart').waitFor({ timeout: waitMs });
  await event('/w/c', '+ again').waitFor({ timeout: waitMs });
  await watchState(page, /^Watching/);
  const revs = (await page.locator('li.event .rev').allTextContents()).map((r) => Number(r.replace('rev ', '')));
  assert.deepEqual(revs, [...revs].sort((a, b) => b - a), 'newest first, each once');
  assert.equal(new Set(revs).size, revs.length);
  await shot(page, 'watch');
  await page.close();
});

test('Leases, Services and Metrics: TTLs count down, keep-alive and revoke; go-zero registrations grouped, a leaving endpoint shown', async (t) => {
  const srv = await startTsetcd(t, await tempDir(t), ['--enable-ui']);
  const ep = srv.endpoint;
  const grant = async (ttl: number) => {
    const hex = /lease ([0-9a-f]+) granted/.exec(await etcdctl(ep, 'lease', 'grant', String(ttl)))![1];
    return { hex, dec: BigInt(`0x${hex}`).toString() };
  };
  const l1 = await grant(60);
  const l2 = await grant(60);
  const l3 = await grant(120);
  await etcdctl(ep, 'put', `greeter.rpc/${l1.dec}`, '10.0.0.1:8080', `--lease=${l1.hex}`);
  await etcdctl(ep, 'put', `greeter.rpc.meta/${l1.dec}`, '{"zone":"eu-1","weight":10}', `--lease=${l1.hex}`);
  await etcdctl(ep, 'put', `greeter.rpc/${l2.dec}`, '10.0.0.2:8080', `--lease=${l2.hex}`);
  await etcdctl(ep, 'put', `user.rpc/${l3.dec}`, '10.0.0.3:9090', `--lease=${l3.hex}`);
  await etcdctl(ep, 'put', 'config/plain/7', 'not a registration');

  const services = await open(ep, 'services');
  const row = (addr: string) => services.locator(`tr[data-endpoint="${addr}"]`);
  await row('10.0.0.1:8080').filter({ hasText: 'eu-1' }).waitFor({ timeout: waitMs });
  await row('10.0.0.2:8080').filter({ hasText: 'Up' }).waitFor({ timeout: waitMs });
  await services.locator('section[data-service="user.rpc"]').waitFor({ timeout: waitMs });
  assert.equal(await services.locator('section[data-service="config/plain"]').count(), 0);
  await row('10.0.0.1:8080').filter({ hasText: /\d+ s/ }).waitFor({ timeout: waitMs });
  await etcdctl(ep, 'lease', 'revoke', l2.hex);
  await row('10.0.0.2:8080').filter({ hasText: 'Going away' }).waitFor({ timeout: waitMs });
  await shot(services, 'services');
  await services.close();

  const leases = await open(ep, 'leases');
  const lease = (hex: string) => leases.locator(`tr[data-lease="${hex}"]`);
  await lease(l1.hex).filter({ hasText: `greeter.rpc.meta/${l1.dec}` }).waitFor({ timeout: waitMs });
  await lease(l1.hex).locator('td.ttl', { hasText: /^\d+ s$/ }).waitFor({ timeout: waitMs });
  await leases.getByRole('button', { name: `Keep ${l1.hex} alive once` }).click();
  await leases.getByText(`Lease ${l1.hex} kept alive: TTL 60 s`).waitFor({ timeout: waitMs });
  await leases.getByRole('button', { name: `Revoke ${l3.hex}` }).click();
  await leases.getByRole('button', { name: `Really revoke ${l3.hex} and delete its keys` }).click();
  await leases.getByText(`Lease ${l3.hex} revoked`).waitFor({ timeout: waitMs });
  await lease(l3.hex).waitFor({ state: 'detached', timeout: waitMs });
  assert.doesNotMatch(await etcdctl(ep, 'lease', 'list'), new RegExp(l3.hex));
  await shot(leases, 'leases');
  await leases.close();

  const metrics = await open(ep, 'metrics');
  const chart = (title: string) => metrics.locator('figure.chart-box', { has: metrics.locator('strong', { hasText: new RegExp(`^${title}$`) }) });
  // load between samples until each rate chart has a line of a few points
  await eventually('writes/s and reads/s lines', 30_000, async () => {
    for (let i = 0; i < 10; i++) {
      await gatewayPut(ep, `/load/${i}`, 'x'.repeat(100));
      await etcdctl(ep, 'get', `/load/${i}`);
    }
    const points = async (title: string) => ((await chart(title).locator('polyline').getAttribute('points', { timeout: 200 }).catch(() => null)) ?? '').split(' ').length;
    return (await points('Writes')) >= 3 && (await points('Reads')) >= 3 ? true : undefined;
  });
  assert.match((await chart('Writes').locator('.now').textContent()) ?? '', /^[\d.]+\/s$/);
  assert.match((await chart('Reads').locator('.now').textContent()) ?? '', /^[\d.]+\/s$/);
  assert.match((await chart('WAL fsync \\(average\\)').locator('.now').textContent()) ?? '', /^[\d.]+ ms$/);
  await chart('DB size').locator('.now', { hasText: /KiB|MiB/ }).waitFor({ timeout: waitMs });
  assert.equal(await metrics.locator('figure.chart-box').count(), 6);
  await shot(metrics, 'metrics');
  await metrics.close();
});

test('auth: a login form; a user sees only what they may read and the server says why; the token stays in memory', async (t) => {
  const srv = await startTsetcd(t, await tempDir(t), ['--enable-ui']);
  const ep = srv.endpoint;
  await etcdctl(ep, 'user', 'add', 'root:rootpw');
  await etcdctl(ep, 'role', 'add', 'reader');
  await etcdctl(ep, 'role', 'grant-permission', 'reader', 'read', '/public/', '--prefix');
  await etcdctl(ep, 'user', 'add', 'alice:alicepw');
  await etcdctl(ep, 'user', 'grant-role', 'alice', 'reader');
  await etcdctl(ep, 'put', '/public/motd', 'hello');
  await etcdctl(ep, 'put', '/secret/key', 'hidden');
  await etcdctl(ep, 'auth', 'enable');

  const page = await open(ep, 'keys');
  await page.getByRole('heading', { name: 'Log in' }).waitFor({ timeout: waitMs });
  await page.getByLabel('User name').fill('alice');
  await page.getByLabel('Password').fill('wrong');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: 'etcdserver: authentication failed, invalid user ID or password' }).waitFor({ timeout: waitMs });
  await shot(page, 'login');
  await page.getByLabel('Password').fill('alicepw');
  await page.getByLabel('Password').press('Enter');
  await page.getByText('Signed in as alice').waitFor({ timeout: waitMs });

  await page.getByLabel('Key prefix').fill('/public/');
  await page.getByLabel('Key prefix').press('Enter');
  await page.getByRole('button', { name: 'motd', exact: true }).click();
  await page.locator('pre.value', { hasText: 'hello' }).waitFor({ timeout: waitMs });
  await page.getByLabel('Key prefix').fill('/secret/');
  await page.getByLabel('Key prefix').press('Enter');
  await page.getByRole('alert').filter({ hasText: 'etcdserver: permission denied' }).first().waitFor({ timeout: waitMs });
  assert.equal(await page.getByText('hidden').count(), 0);
  // writing is refused too, with the server's words
  await page.getByRole('button', { name: 'New key' }).click();
  await page.getByLabel('Key', { exact: true }).fill('/public/new');
  await page.getByLabel('Value').fill('x');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('alert').filter({ hasText: 'etcdserver: permission denied' }).last().waitFor({ timeout: waitMs });
  assert.equal(await etcdctl(ep, '--user', 'root:rootpw', 'get', '/public/new'), '');
  // membership changes are for root only
  await page.getByRole('link', { name: 'Cluster' }).click();
  await page.getByText('Moving the leader and changing membership need the root user.').waitFor({ timeout: waitMs });
  assert.equal(await page.getByRole('button', { name: 'Add member' }).count(), 0);

  const stored = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookies: document.cookie, url: location.href }));
  assert.deepEqual(stored, { local: 0, session: 0, cookies: '', url: `http://${ep}/ui/#/cluster` });
  // a new tab knows nobody
  const other = await open(ep, 'keys');
  await other.getByRole('heading', { name: 'Log in' }).waitFor({ timeout: waitMs });
  await other.close();
  await page.close();
});

test('Cluster: three members with leader, raft term/index and DB size; a killed member turns unhealthy; root moves the leader', async (t) => {
  const cluster = await startCluster({ members: 3, memberOptions: { enableUi: true } });
  t.after(() => cluster.close());
  const leader = await cluster.leader(waitMs);
  const ep = cluster.endpoints[(leader + 1) % 3].replace('http://', '');
  const page = await open(ep, 'cluster');
  const row = (name: string) => page.locator(`tr[data-member="${name}"]`);
  for (const name of ['m0', 'm1', 'm2']) await row(name).filter({ hasText: 'Healthy' }).waitFor({ timeout: waitMs });
  await row(`m${leader}`).filter({ hasText: 'Leader' }).waitFor({ timeout: waitMs });
  await page.getByText('3 members, 3 healthy').waitFor({ timeout: waitMs });
  await page.getByText('No alarms.').waitFor({ timeout: waitMs });
  assert.match((await row('m0').locator('td').nth(4).textContent()) ?? '', /^[\d.]+ (B|KiB|MiB) \/ [\d.]+ (B|KiB|MiB)$/);
  await shot(page, 'cluster');

  // root (auth off) moves leadership to a follower
  const target = (leader + 2) % 3;
  await page.getByRole('button', { name: `Make m${target} leader` }).click();
  await page.getByText(`Leadership moved to m${target}`).waitFor({ timeout: waitMs });
  await row(`m${target}`).filter({ hasText: 'Leader' }).waitFor({ timeout: waitMs });

  // membership: a learner added (not started), its promotion refused by the server, removed
  const spare = `http://127.0.0.1:${await freePort()}`;
  await page.getByLabel('Peer URLs').fill(spare);
  await page.getByLabel('as a learner').check();
  // etcd (and tsetcd) refuse an add until the leader has been connected to every peer for 5 s
  // ("etcdserver: unhealthy cluster"); the page shows that answer and the add is asked again
  const added = page.getByText(`Added member with peer URLs ${spare}`);
  const addDeadline = Date.now() + 20_000;
  for (;;) {
    const answered = page.waitForResponse((r) => r.url().includes('/v3/cluster/member/add'), { timeout: waitMs });
    await page.getByRole('button', { name: 'Add member' }).click();
    const res = await answered;
    if (res.ok()) break;
    const body = await res.text();
    assert.match(body, /unhealthy cluster/, `member add refused: ${body}`);
    assert.ok(Date.now() < addDeadline, 'member add still refused as unhealthy after 20 s');
    await page.waitForTimeout(250); // poll interval while the 5 s peer rule runs out
  }
  await added.waitFor({ timeout: waitMs });
  const learner = page.locator('tr[data-member=""]', { hasText: spare });
  await learner.filter({ hasText: 'Learner' }).waitFor({ timeout: waitMs });
  await learner.getByRole('button', { name: /^Promote / }).click();
  await page.getByRole('alert').filter({ hasText: 'etcdserver: can only promote a learner member which is in sync with leader' }).waitFor({ timeout: waitMs });
  await learner.getByRole('button', { name: /^Remove / }).click();
  await learner.getByRole('button', { name: /^Really remove / }).click();
  await learner.waitFor({ state: 'detached', timeout: waitMs });
  assert.doesNotMatch(await etcdctl(ep, 'member', 'list'), new RegExp(spare));

  // the old leader, now neither leading nor serving the page, is killed
  const victim = leader;
  await cluster.kill(victim);
  await row(`m${victim}`).filter({ hasText: 'Unhealthy' }).waitFor({ timeout: waitMs });
  await page.getByText('3 members, 2 healthy').waitFor({ timeout: waitMs });
  assert.equal(await row(`m${victim}`).getAttribute('data-health'), 'unhealthy');
  await shot(page, 'cluster-member-down');
  await page.close();
});

test('tsetcd ui --endpoints: the dashboard in front of a real etcd 3.4', async (t) => {
  const etcd = await startEtcd(t);
  await etcdctl(etcd.client, 'put', '/real/etcd', '{"from":"etcd 3.4"}');
  const ui = spawn(tsetcdBin, ['ui', '--endpoints', `http://${etcd.client}`, '--listen-addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => ui.once('exit', r));
  t.after(async () => {
    if (ui.exitCode === null && ui.signalCode === null) ui.kill('SIGTERM');
    await exited;
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    ui.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /open (http:\/\/\S+\/ui\/)/.exec(out);
      if (m) resolve(m[1]);
    });
    void exited.then(() => reject(new Error(`tsetcd ui exited: ${out}`)));
  });
  const page = await browser.page();
  await page.goto(`${url}#/keys`);
  await page.getByLabel('Key prefix').fill('/real/');
  await page.getByLabel('Key prefix').press('Enter');
  await page.getByRole('button', { name: 'etcd', exact: true }).click();
  await page.locator('pre.value', { hasText: '"from": "etcd 3.4"' }).waitFor({ timeout: waitMs });
  await page.getByRole('link', { name: 'Watch' }).click();
  await page.getByLabel('Key prefix').fill('/real/');
  await page.getByRole('button', { name: 'Watch', exact: true }).click();
  await watchState(page, /^Watching/);
  await etcdctl(etcd.client, 'put', '/real/etcd', 'changed');
  await page.locator('li.event[data-key="/real/etcd"]', { hasText: '+ changed' }).waitFor({ timeout: waitMs });
  await page.getByRole('link', { name: 'Cluster' }).click();
  await page.locator('tr[data-member="default"]', { hasText: '3.4.23' }).filter({ hasText: 'Healthy' }).waitFor({ timeout: waitMs });
  // the proxy reaches members of the cluster only
  const res = await fetch(`${url}endpoint?url=${encodeURIComponent('http://127.0.0.1:1')}&path=health`);
  assert.equal(res.status, 403);
  // a POST another site's page could send without asking (text/plain) is refused, and so is a
  // request naming another host (DNS rebinding)
  const plain = await fetch(`${new URL(url).origin}/v3/kv/put`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ key: 'eA==', value: 'eA==' }) });
  assert.equal(plain.status, 415);
  assert.equal(await etcdctl(etcd.client, 'get', 'x'), '');
  const rebound = await new Promise<number>((resolve, reject) => {
    const u = new URL(url);
    request({ host: u.hostname, port: u.port, path: '/v3/kv/range', method: 'POST', headers: { host: `evil.example:${u.port}`, 'content-type': 'application/json' } }, (r) => {
      r.resume();
      resolve(r.statusCode ?? 0);
    })
      .on('error', reject)
      .end('{"key":"eA=="}');
  });
  assert.equal(rebound, 421);
  await page.close();
});

test('--enable-ui is off by default: /ui/ is 404 like any unknown path', async (t) => {
  const srv = await startTsetcd(t, await tempDir(t));
  const res = await fetch(`http://${srv.endpoint}/ui/`);
  assert.equal(res.status, 404);
  assert.equal(await res.text(), '404 page not found\n');
});
