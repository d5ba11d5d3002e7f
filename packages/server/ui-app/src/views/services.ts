// Services: go-zero-style registrations, `<Key>/<leaseID>` → host:port on a lease (metadata
// as JSON on `<Key>.meta/<leaseID>`), grouped by service, each endpoint with its lease's TTL.
// Kept live by a watch: an endpoint whose key goes away is shown leaving for a few seconds.

import { range, type KeyValue } from '../api.js';
import { fromText, prefixEnd, toText, unb64 } from '../bytes.js';
import { errorBox, field, h, redraw, replace } from '../dom.js';
import { hexId, parseJson } from '../format.js';
import type { Screen } from '../session.js';
import { Watch } from '../watch-stream.js';
import { remaining, timeToLive } from './leases.js';

interface Endpoint {
  service: string;
  suffix: string;
  address: string;
  lease: string;
  meta?: Record<string, unknown>;
  /** when its key was deleted (ms); shown leaving until leaveMs later */
  leftAt?: number;
}

const leaveMs = 8000;
const ttlRefreshMs = 3000;
const scanLimit = 5000;
const registration = /^(.+)\/(\d+)$/;

export const servicesScreen: Screen = {
  id: 'services',
  title: 'Services',
  render(root) {
    let gone = false;
    let watch: Watch | undefined;
    const endpoints = new Map<string, Endpoint>();
    const metas = new Map<string, Record<string, unknown>>();
    const ttls = new Map<string, { ttl: number; at: number }>();
    const prefixInput = h('input', { type: 'text', name: 'prefix', spellcheck: 'false', placeholder: '(every key)' });
    const summary = h('p', { class: 'summary', role: 'status' });
    const groups = h('div', { class: 'services' });
    replace(
      root,
      h('h1', {}, 'Services'),
      h(
        'form',
        {
          class: 'toolbar',
          onsubmit: (e: Event) => {
            e.preventDefault();
            void load();
          },
        },
        field('Registration prefix', prefixInput, 'go-zero registers <Key>/<lease ID> → host:port.'),
        h('button', { type: 'submit' }, 'Show'),
      ),
      summary,
      groups,
    );

    /** Takes one key/value in (or out, for a delete). */
    function apply(kv: KeyValue, deleted: boolean): void {
      const key = toText(unb64(kv.key));
      const m = registration.exec(key);
      if (m === null) return;
      const [, service, suffix] = m;
      if (service.endsWith('.meta')) {
        const id = `${service.slice(0, -'.meta'.length)}/${suffix}`;
        if (deleted) metas.delete(id);
        else {
          const j = parseJson(toText(unb64(kv.value)));
          if (j && typeof j.value === 'object' && j.value !== null) metas.set(id, j.value as Record<string, unknown>);
        }
        return;
      }
      const had = endpoints.get(key);
      if (deleted) {
        if (had && had.leftAt === undefined) had.leftAt = Date.now();
        return;
      }
      if (!kv.lease || kv.lease === '0') return;
      endpoints.set(key, { service, suffix, address: toText(unb64(kv.value)), lease: kv.lease });
    }

    function draw(): void {
      const now = Date.now();
      for (const [k, e] of endpoints) if (e.leftAt !== undefined && now - e.leftAt > leaveMs) endpoints.delete(k);
      const byService = new Map<string, Array<[string, Endpoint]>>();
      for (const [k, e] of endpoints) byService.set(e.service, [...(byService.get(e.service) ?? []), [k, e]]);
      const up = [...endpoints.values()].filter((e) => e.leftAt === undefined).length;
      summary.textContent = `${byService.size} services, ${up} endpoints up.`;
      redraw(
        groups,
        [...byService.entries()]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([service, eps]) =>
            h(
              'section',
              { class: 'service', 'data-service': service },
              h('h2', {}, service, h('span', { class: 'muted' }, ` — ${eps.filter(([, e]) => e.leftAt === undefined).length} up`)),
              h(
                'table',
                {},
                h('thead', {}, h('tr', {}, ['Endpoint', 'State', 'Lease', 'TTL left', 'Metadata'].map((t) => h('th', { scope: 'col' }, t)))),
                h(
                  'tbody',
                  {},
                  eps.map(([key, e]) => {
                    const t = ttls.get(e.lease);
                    const meta = metas.get(`${e.service}/${e.suffix}`);
                    return h(
                      'tr',
                      { class: e.leftAt === undefined ? 'up' : 'leaving', 'data-endpoint': e.address },
                      h('th', { scope: 'row' }, h('code', {}, e.address), h('div', { class: 'muted' }, key)),
                      h('td', {}, h('span', { class: `pill ${e.leftAt === undefined ? 'healthy' : 'unhealthy'}` }, e.leftAt === undefined ? 'Up' : 'Going away')),
                      h('td', {}, hexId(e.lease)),
                      h('td', {}, e.leftAt !== undefined ? '—' : t ? (t.ttl < 0 ? 'expired' : `${remaining(t)} s`) : '…'),
                      h('td', {}, meta ? h('dl', { class: 'meta inline' }, Object.entries(meta).map(([k, v]) => [h('dt', {}, k), h('dd', {}, typeof v === 'string' ? v : JSON.stringify(v))])) : h('span', { class: 'muted' }, 'none')),
                    );
                  }),
                ),
              ),
            ),
          ),
        byService.size === 0 ? h('p', { class: 'muted' }, 'No registrations found (keys <Key>/<number> on a lease).') : null,
      );
    }

    async function refreshTtls(): Promise<void> {
      const leases = new Set([...endpoints.values()].filter((e) => e.leftAt === undefined).map((e) => e.lease));
      await Promise.all([...leases].map((id) => timeToLive(id, false).then((l) => ttls.set(id, l), () => ttls.delete(id))));
    }

    async function load(): Promise<void> {
      watch?.stop();
      endpoints.clear();
      metas.clear();
      const prefix = fromText(prefixInput.value);
      const key = prefix === '' ? '\0' : prefix;
      try {
        const r = await range(key, { rangeEnd: prefixEnd(prefix), limit: scanLimit });
        if (gone) return;
        for (const kv of r.kvs ?? []) apply(kv, false);
        await refreshTtls();
        draw();
        if (r.more) groups.before(errorBox(`Only the first ${scanLimit} keys were scanned; narrow the prefix.`));
        watch = new Watch({
          key,
          rangeEnd: prefixEnd(prefix),
          startRevision: BigInt(r.header?.revision ?? '0') + 1n,
          onState: () => undefined,
          onEvents: (evs) => {
            for (const e of evs) apply(e.kv, e.type === 'DELETE');
            void refreshTtls().then(draw);
          },
        });
      } catch (e) {
        replace(groups, errorBox((e as Error).message));
      }
    }

    const ticker = window.setInterval(draw, 1000);
    const ttlTimer = window.setInterval(() => void refreshTtls(), ttlRefreshMs);
    void load();
    return () => {
      gone = true;
      watch?.stop();
      window.clearInterval(ticker);
      window.clearInterval(ttlTimer);
    };
  },
};
