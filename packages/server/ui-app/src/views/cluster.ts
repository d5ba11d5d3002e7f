// Cluster: every member with its role, health, raft term/index and DB size (each member's
// own /v3/maintenance/status and /health, reached through /ui/endpoint), alarms, and for
// root: move leader, add, remove and promote members.

import { atMember, call, memberJson, type Header } from '../api.js';
import { errorBox, field, h, redraw, replace } from '../dom.js';
import { formatBytes, hexId } from '../format.js';
import type { Screen } from '../session.js';

interface Member {
  ID?: string;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

interface Status {
  header?: Header;
  version?: string;
  dbSize?: string;
  leader?: string;
  raftIndex?: string;
  raftTerm?: string;
  raftAppliedIndex?: string;
  dbSizeInUse?: string;
  errors?: string[];
}

interface MemberView {
  m: Member;
  status?: Status;
  statusError?: string;
  healthy: boolean;
  healthNote: string;
}

const refreshMs = 2000;

async function probe(m: Member): Promise<MemberView> {
  const url = m.clientURLs?.[0];
  if (url === undefined) return { m, healthy: false, healthNote: 'not started (no client URL yet)' };
  const [status, health] = await Promise.all([
    memberJson<Status>(url, 'v3/maintenance/status', {}).then(
      (s) => ({ s }),
      (e: Error) => ({ e: e.message }),
    ),
    atMember(url, 'health').then(
      async (r) => {
        const body = (await r.json().catch(() => ({}))) as { health?: string; message?: string };
        return { ok: r.ok && body.health === 'true', note: body.health === 'true' ? 'healthy' : (body.message ?? `health ${body.health ?? r.status}`) };
      },
      (e: Error) => ({ ok: false, note: e.message }),
    ),
  ]);
  return { m, status: 's' in status ? status.s : undefined, statusError: 'e' in status ? status.e : undefined, healthy: health.ok, healthNote: health.ok ? 'healthy' : health.note };
}

export const clusterScreen: Screen = {
  id: 'cluster',
  title: 'Cluster',
  render(root, session) {
    let gone = false;
    let timer: number | undefined;
    let views: MemberView[] = [];
    let lastAlarms: Array<{ memberID?: string; alarm?: string }> | string = [];
    /** the member whose removal waits for a second click */
    let confirmRemove: string | undefined;
    const summary = h('p', { class: 'summary' });
    const table = h('div', { class: 'table-wrap' });
    const alarms = h('section', { 'aria-labelledby': 'alarms-h' });
    const out = h('div', { 'aria-live': 'polite' });
    const peerInput = h('input', { type: 'text', name: 'peer-urls', placeholder: 'http://10.0.0.4:2380', spellcheck: 'false' });
    const learnerInput = h('input', { type: 'checkbox', name: 'learner' });
    const admin = session.isRoot
      ? h(
          'form',
          {
            class: 'toolbar',
            onsubmit: (e: Event) => {
              e.preventDefault();
              const urls = peerInput.value.split(',').map((s) => s.trim()).filter((s) => s !== '');
              void act(`Added member with peer URLs ${urls.join(',')}`, () => call('/v3/cluster/member/add', { peerURLs: urls, isLearner: learnerInput.checked || undefined }));
            },
          },
          h('h2', {}, 'Add a member'),
          field('Peer URLs', peerInput, 'Comma-separated; start the new member with --initial-cluster-state existing.'),
          h('div', { class: 'field check' }, learnerInput, h('label', { for: (learnerInput.id = 'add-learner') }, 'as a learner')),
          h('button', { type: 'submit' }, 'Add member'),
        )
      : h('p', { class: 'muted' }, 'Moving the leader and changing membership need the root user.');
    replace(root, h('h1', {}, 'Cluster'), summary, table, out, alarms, admin);

    async function act(done: string, f: () => Promise<unknown>): Promise<void> {
      confirmRemove = undefined;
      try {
        await f();
        replace(out, h('p', { class: 'ok' }, done));
      } catch (e) {
        replace(out, errorBox((e as Error).message));
      }
      await refresh();
    }

    function actions(v: MemberView, leader: MemberView | undefined): HTMLElement | null {
      if (!session.isRoot) return null;
      const id = v.m.ID ?? '0';
      const name = v.m.name || hexId(id);
      const btns: HTMLElement[] = [];
      const isLeader = leader !== undefined && leader.m.ID === id;
      if (!isLeader && !v.m.isLearner && leader?.m.clientURLs?.[0]) {
        const url = leader.m.clientURLs[0];
        btns.push(h('button', { type: 'button', onclick: () => void act(`Leadership moved to ${name}`, () => atMember(url, 'v3/maintenance/transfer-leadership', { targetID: id })) }, `Make ${name} leader`));
      }
      if (v.m.isLearner) btns.push(h('button', { type: 'button', onclick: () => void act(`Promoted ${name}`, () => call('/v3/cluster/member/promote', { ID: id })) }, `Promote ${name}`));
      // removing asks once more (the question survives the periodic redraw)
      const remove =
        confirmRemove === id
          ? h('button', { type: 'button', class: 'danger', onclick: () => void act(`Removed ${name}`, () => call('/v3/cluster/member/remove', { ID: id })) }, `Really remove ${name}`)
          : h('button', { type: 'button', class: 'danger', onclick: () => ((confirmRemove = id), draw(lastAlarms), (table.querySelector<HTMLElement>(`button.danger[data-confirm="${id}"]`))?.focus()) }, `Remove ${name}`);
      remove.dataset.confirm = id;
      btns.push(remove);
      return h('div', { class: 'actions' }, btns);
    }

    function draw(alarmList: Array<{ memberID?: string; alarm?: string }> | string): void {
      lastAlarms = alarmList;
      const leaderId = views.find((v) => v.status?.leader && v.status.leader !== '0')?.status?.leader;
      const leader = views.find((v) => v.m.ID === leaderId);
      const healthy = views.filter((v) => v.healthy).length;
      summary.textContent = `${views.length} ${views.length === 1 ? 'member' : 'members'}, ${healthy} healthy; leader ${leader ? leader.m.name || hexId(leader.m.ID) : 'unknown'}.`;
      const row = (v: MemberView) => {
        const s = v.status;
        const role = v.m.isLearner ? 'Learner' : v.m.ID === leaderId ? 'Leader' : 'Follower';
        return h(
          'tr',
          { 'data-member': v.m.name ?? '', 'data-health': v.healthy ? 'healthy' : 'unhealthy' },
          h('th', { scope: 'row' }, v.m.name || '(unstarted)', h('div', { class: 'muted' }, hexId(v.m.ID))),
          h('td', {}, h('span', { class: `pill ${role.toLowerCase()}` }, role)),
          h('td', {}, h('span', { class: `pill ${v.healthy ? 'healthy' : 'unhealthy'}` }, v.healthy ? 'Healthy' : 'Unhealthy'), v.healthy ? null : h('div', { class: 'muted' }, v.healthNote)),
          h('td', {}, s?.raftTerm ?? '—'),
          h('td', {}, s ? `${s.raftIndex ?? '0'} / ${s.raftAppliedIndex ?? '0'}` : '—'),
          h('td', {}, s ? `${formatBytes(Number(s.dbSize ?? 0))} / ${formatBytes(Number(s.dbSizeInUse ?? 0))}` : '—'),
          h('td', {}, s?.version ?? '—'),
          h('td', { class: 'urls' }, (v.m.clientURLs ?? []).join(' '), h('div', { class: 'muted' }, (v.m.peerURLs ?? []).join(' '))),
          session.isRoot ? h('td', {}, actions(v, leader)) : null,
        );
      };
      redraw(
        table,
        h(
          'table',
          { class: 'members' },
          h('caption', { class: 'sr' }, 'Members'),
          h('thead', {}, h('tr', {}, ['Member', 'Role', 'Health', 'Raft term', 'Raft index / applied', 'DB size / in use', 'Version', 'URLs (client, peer)', session.isRoot ? 'Actions' : null].map((t) => (t ? h('th', { scope: 'col' }, t) : null)))),
          h('tbody', {}, views.map(row)),
        ),
      );
      replace(
        alarms,
        h('h2', { id: 'alarms-h' }, 'Alarms'),
        typeof alarmList === 'string' ? errorBox(alarmList) : alarmList.length === 0 ? h('p', { class: 'muted' }, 'No alarms.') : h('ul', {}, alarmList.map((a) => h('li', { class: 'error' }, `${a.alarm ?? 'NONE'} on member ${hexId(a.memberID)}`))),
      );
    }

    async function refresh(): Promise<void> {
      window.clearTimeout(timer);
      try {
        const list = await call<{ members?: Member[] }>('/v3/cluster/member/list');
        const probed = await Promise.all((list.members ?? []).map(probe));
        const al = await call<{ alarms?: Array<{ memberID?: string; alarm?: string }> }>('/v3/maintenance/alarm', { action: 'GET' }).then(
          (r) => r.alarms ?? [],
          (e: Error) => e.message,
        );
        if (gone) return;
        views = probed;
        draw(al);
      } catch (e) {
        if (gone) return;
        replace(table, errorBox((e as Error).message));
      }
      if (!gone) timer = window.setTimeout(() => void refresh(), refreshMs);
    }

    void refresh();
    return () => {
      gone = true;
      window.clearTimeout(timer);
    };
  },
};
