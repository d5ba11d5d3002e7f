// Leases: every lease with its TTL counting down, the keys attached, keep-alive once, revoke.

import { call, stream } from '../api.js';
import { unb64 } from '../bytes.js';
import { errorBox, h, redraw, replace } from '../dom.js';
import { hexId } from '../format.js';
import type { Screen } from '../session.js';
import { showKey } from './keys.js';

interface LeaseInfo {
  id: string;
  ttl: number;
  granted: number;
  keys: string[];
  /** when ttl was read (ms) */
  at: number;
  error?: string;
}

const refreshMs = 5000;
const maxShown = 200;

export async function timeToLive(id: string, keys: boolean): Promise<LeaseInfo> {
  const at = Date.now();
  const r = await call<{ TTL?: string; grantedTTL?: string; keys?: string[] }>('/v3/lease/timetolive', { ID: id, keys: keys || undefined });
  return { id, ttl: Number(r.TTL ?? '-1'), granted: Number(r.grantedTTL ?? '0'), keys: (r.keys ?? []).map((k) => showKey(unb64(k))), at };
}

/** Sends one keep-alive and returns the new TTL. */
export async function keepAliveOnce(id: string): Promise<number> {
  let ttl = -1;
  const abort = new AbortController();
  await stream('/v3/lease/keepalive', { ID: id }, (r) => {
    ttl = Number((r as { TTL?: string }).TTL ?? '-1');
    abort.abort();
  }, abort.signal);
  return ttl;
}

/** Seconds left now, from a TTL read at `at`. */
export const remaining = (l: { ttl: number; at: number }): number => (l.ttl < 0 ? -1 : Math.max(0, Math.ceil(l.ttl - (Date.now() - l.at) / 1000)));

export const leasesScreen: Screen = {
  id: 'leases',
  title: 'Leases',
  render(root) {
    let gone = false;
    let timer: number | undefined;
    let leases: LeaseInfo[] = [];
    /** the lease whose revoke waits for a second click */
    let confirmRevoke: string | undefined;
    const summary = h('p', { class: 'summary' });
    const note = h('p', { class: 'muted' });
    const list = h('div', { class: 'table-wrap' });
    const out = h('div', { 'aria-live': 'polite' });
    replace(root, h('h1', {}, 'Leases'), h('div', { class: 'toolbar' }, h('button', { type: 'button', onclick: () => void refresh() }, 'Refresh')), summary, note, out, list);

    async function act(f: () => Promise<string>): Promise<void> {
      confirmRevoke = undefined;
      try {
        const msg = await f();
        replace(out, h('p', { class: 'ok' }, msg));
      } catch (e) {
        replace(out, errorBox((e as Error).message));
      }
      await refresh();
    }

    function draw(): void {
      summary.textContent = `${leases.length} ${leases.length === 1 ? 'lease' : 'leases'}.`;
      redraw(
        list,
        h(
          'table',
          { class: 'leases' },
          h('caption', { class: 'sr' }, 'Leases'),
          h('thead', {}, h('tr', {}, ['Lease', 'TTL left', 'Granted TTL', 'Keys', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
          h(
            'tbody',
            {},
            leases.map((l) =>
              h(
                'tr',
                { 'data-lease': hexId(l.id) },
                h('th', { scope: 'row' }, hexId(l.id), h('div', { class: 'muted' }, l.id)),
                h('td', { class: 'ttl', 'data-id': l.id }, ''),
                h('td', {}, `${l.granted} s`),
                h('td', {}, l.error ? errorBox(l.error) : l.keys.length === 0 ? h('span', { class: 'muted' }, 'none') : h('ul', { class: 'plain' }, l.keys.map((k) => h('li', {}, h('code', {}, k))))),
                h(
                  'td',
                  {},
                  h(
                    'div',
                    { class: 'actions' },
                    h('button', { type: 'button', onclick: () => void act(async () => `Lease ${hexId(l.id)} kept alive: TTL ${await keepAliveOnce(l.id)} s`) }, `Keep ${hexId(l.id)} alive once`),
                    // revoking deletes the lease's keys: asked twice (the question survives the periodic redraw)
                    confirmRevoke === l.id
                      ? h('button', { type: 'button', class: 'danger', 'data-revoke': l.id, onclick: () => void act(async () => (await call('/v3/lease/revoke', { ID: l.id }), `Lease ${hexId(l.id)} revoked`)) }, `Really revoke ${hexId(l.id)} and delete its keys`)
                      : h('button', { type: 'button', class: 'danger', 'data-revoke': l.id, onclick: () => ((confirmRevoke = l.id), draw(), list.querySelector<HTMLElement>(`button[data-revoke="${l.id}"]`)?.focus()) }, `Revoke ${hexId(l.id)}`),
                  ),
                ),
              ),
            ),
          ),
        ),
      );
      tick();
    }

    function tick(): void {
      for (const l of leases) {
        const cell = list.querySelector(`td.ttl[data-id="${l.id}"]`);
        if (cell) cell.textContent = l.ttl < 0 ? 'expired' : `${remaining(l)} s`;
      }
    }

    async function refresh(): Promise<void> {
      window.clearTimeout(timer);
      try {
        const r = await call<{ leases?: Array<{ ID?: string }> }>('/v3/lease/leases');
        const all = (r.leases ?? []).map((l) => l.ID ?? '0');
        // each shown lease is asked for its TTL every refresh: a bounded number of them
        const ids = all.slice(0, maxShown);
        note.textContent = all.length > maxShown ? `Showing the first ${maxShown} of ${all.length} leases.` : '';
        const infos = await Promise.all(
          ids.map((id) =>
            timeToLive(id, true).catch(async (e: Error) => {
              // without read permission on its keys, the TTL alone
              const bare = await timeToLive(id, false).catch(() => ({ id, ttl: -1, granted: 0, keys: [], at: Date.now() }));
              return { ...bare, error: e.message };
            }),
          ),
        );
        if (gone) return;
        leases = infos.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
        draw();
      } catch (e) {
        if (gone) return;
        replace(list, errorBox((e as Error).message));
      }
      if (!gone) timer = window.setTimeout(() => void refresh(), refreshMs);
    }

    const ticker = window.setInterval(tick, 1000);
    void refresh();
    return () => {
      gone = true;
      window.clearTimeout(timer);
      window.clearInterval(ticker);
    };
  },
};
