// Keys: the key space as a tree by "/" or a flat list under a prefix, a page at a time;
// a key's value, versions, edit and delete as compare-and-swap on the mod revision shown.

import { ApiError, casTxn, range, type KeyValue } from '../api.js';
import { b64, fromText, prefixEnd, toText, unb64, type Bytes } from '../bytes.js';
import { announce, errorBox, field, h, replace } from '../dom.js';
import { hexId } from '../format.js';
import type { Screen } from '../session.js';
import * as valueView from './value-view.js';

const pageSize = 100;

interface Entry {
  /** full key, or for a directory the prefix ending in "/" */
  key: Bytes;
  dir: boolean;
}

/** One page of the tree under `prefix` from `cursor`: directories once each, then keys. */
async function treePage(prefix: Bytes, cursor: Bytes): Promise<{ entries: Entry[]; next?: Bytes }> {
  const end = prefixEnd(prefix);
  const entries: Entry[] = [];
  const seen = new Set<Bytes>();
  let from = cursor;
  for (;;) {
    const r = await range(from, { rangeEnd: end, limit: 200, keysOnly: true });
    const kvs = r.kvs ?? [];
    if (kvs.length === 0) return { entries };
    let last: Bytes = '';
    for (const kv of kvs) {
      const k = unb64(kv.key);
      const slash = k.indexOf('/', prefix.length);
      if (slash >= 0) {
        const dir = k.slice(0, slash + 1);
        if (!seen.has(dir)) {
          seen.add(dir);
          entries.push({ key: dir, dir: true });
        }
        // the rest of this directory is skipped
        last = dir;
      } else {
        entries.push({ key: k, dir: false });
        last = k;
      }
    }
    from = last.endsWith('/') && seen.has(last) ? prefixEnd(last) : `${last}\0`;
    if (!r.more || from === '\0') return { entries };
    if (entries.length >= pageSize) return { entries, next: from };
  }
}

async function flatPage(prefix: Bytes, cursor: Bytes): Promise<{ entries: Entry[]; next?: Bytes }> {
  const r = await range(cursor, { rangeEnd: prefixEnd(prefix), limit: pageSize, keysOnly: true });
  const entries = (r.kvs ?? []).map((kv) => ({ key: unb64(kv.key), dir: false }));
  return { entries, next: r.more && entries.length > 0 ? `${entries[entries.length - 1].key}\0` : undefined };
}

/** A key for people: its text, with bytes that are not printable as \xNN. */
export function showKey(k: Bytes): string {
  const t = toText(k);
  return t.includes('\uFFFD') || /[\u0000-\u001f]/.test(t) ? [...k].map((c) => (c >= ' ' && c <= '~' ? c : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)).join('') : t;
}

export const keysScreen: Screen = {
  id: 'keys',
  title: 'Keys',
  render(root) {
    let prefix: Bytes = '';
    let mode: 'tree' | 'flat' = 'tree';
    let next: Bytes | undefined;
    let gone = false;

    const prefixInput = h('input', { type: 'search', name: 'prefix', autocomplete: 'off', spellcheck: 'false', placeholder: '/' });
    const modeSelect = h('select', { name: 'mode' }, h('option', { value: 'tree' }, 'Tree by /'), h('option', { value: 'flat' }, 'Flat list'));
    const crumbs = h('nav', { class: 'crumbs', 'aria-label': 'Prefix path' });
    const summary = h('p', { class: 'summary', 'aria-live': 'polite' });
    const list = h('ul', { class: 'key-list', 'aria-label': 'Keys' });
    const more = h('button', { type: 'button', class: 'more', hidden: true, onclick: () => void load(false) }, 'Load more');
    const detail = h('section', { class: 'detail', 'aria-label': 'Key detail', tabindex: '-1' });

    const form = h(
      'form',
      {
        role: 'search',
        class: 'toolbar',
        onsubmit: (e: Event) => {
          e.preventDefault();
          prefix = fromText(prefixInput.value);
          mode = modeSelect.value as 'tree' | 'flat';
          void load(true);
        },
      },
      field('Key prefix', prefixInput),
      field('Show', modeSelect),
      h('button', { type: 'submit' }, 'Search'),
      h('button', { type: 'button', onclick: () => openEditor(undefined) }, 'New key'),
    );

    replace(root, h('h1', {}, 'Keys'), form, h('div', { class: 'split' }, h('div', { class: 'list-pane' }, crumbs, summary, list, more), detail));

    function go(p: Bytes): void {
      prefix = p;
      prefixInput.value = toText(p);
      // the button that was pressed is gone: the keyboard continues in the new list
      void load(true).then(() => list.querySelector<HTMLElement>('button')?.focus());
    }

    function drawCrumbs(): void {
      const parts: HTMLElement[] = [h('button', { type: 'button', class: 'link', onclick: () => go('') }, '(all)')];
      if (mode === 'tree') {
        let acc = '';
        for (const seg of prefix.split('/').slice(0, -1)) {
          acc += `${seg}/`;
          const p = acc;
          parts.push(h('span', { 'aria-hidden': 'true' }, ' › '), h('button', { type: 'button', class: 'link', onclick: () => go(p) }, `${showKey(seg)}/`));
        }
      }
      replace(crumbs, parts);
    }

    async function load(fresh: boolean): Promise<void> {
      if (fresh) {
        next = prefix;
        list.replaceChildren();
        drawCrumbs();
        summary.textContent = 'Loading…';
        range(prefix, { rangeEnd: prefixEnd(prefix), countOnly: true }).then(
          (r) => !gone && (summary.textContent = `${r.count ?? '0'} ${r.count === '1' ? 'key' : 'keys'} under "${showKey(prefix) || '(all)'}" at revision ${r.header?.revision ?? '?'}`),
          (e: Error) => !gone && replace(summary, errorBox(e.message)),
        );
      }
      if (next === undefined) return;
      try {
        const page = mode === 'tree' ? await treePage(prefix, next) : await flatPage(prefix, next);
        if (gone) return;
        next = page.next;
        for (const e of page.entries) {
          const label = mode === 'tree' ? showKey(e.key.slice(prefix.length)) : showKey(e.key);
          list.append(
            h(
              'li',
              {},
              h('button', { type: 'button', class: e.dir ? 'entry dir' : 'entry', 'data-key': b64(e.key), onclick: () => (e.dir ? go(e.key) : void openKey(e.key)) }, e.dir ? h('span', { class: 'icon', 'aria-hidden': 'true' }, '▸ ') : null, label, e.dir ? h('span', { class: 'sr' }, ' (folder)') : null),
            ),
          );
        }
        if (list.children.length === 0) list.append(h('li', { class: 'empty' }, 'No keys.'));
        more.hidden = next === undefined;
      } catch (e) {
        replace(list, h('li', {}, errorBox((e as Error).message)));
        more.hidden = true;
      }
    }

    async function openKey(key: Bytes, focus = true): Promise<void> {
      replace(detail, h('p', {}, 'Loading…'));
      try {
        const r = await range(key);
        const kv = r.kvs?.[0];
        if (gone) return;
        if (kv === undefined) {
          replace(detail, h('h2', {}, showKey(key)), errorBox('This key does not exist (any more).'));
          return;
        }
        showKv(kv, r.header?.revision);
        if (focus) detail.focus();
      } catch (e) {
        replace(detail, h('h2', {}, showKey(key)), errorBox((e as Error).message));
      }
    }

    function meta(kv: KeyValue): HTMLElement {
      return h(
        'dl',
        { class: 'meta' },
        h('dt', {}, 'Mod revision'), h('dd', { 'data-field': 'mod_revision' }, kv.mod_revision ?? '0'),
        h('dt', {}, 'Create revision'), h('dd', {}, kv.create_revision ?? '0'),
        h('dt', {}, 'Version'), h('dd', {}, kv.version ?? '0'),
        h('dt', {}, 'Lease'), h('dd', {}, kv.lease && kv.lease !== '0' ? `${hexId(kv.lease)} (${kv.lease})` : 'none'),
        h('dt', {}, 'Size'), h('dd', {}, `${unb64(kv.value).length} bytes`),
      );
    }

    function showKv(kv: KeyValue, atRevision?: string): void {
      const key = unb64(kv.key);
      const history = h('div', { class: 'history' });
      const actions = h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', onclick: () => openEditor(kv) }, 'Edit'),
        h('button', { type: 'button', class: 'danger', onclick: () => confirmDelete(kv, actions) }, 'Delete'),
        h('button', { type: 'button', onclick: () => void showHistory(kv, history) }, 'History'),
      );
      replace(detail, h('h2', { class: 'key-name' }, showKey(key)), atRevision ? h('p', { class: 'muted' }, `Read at revision ${atRevision}`) : null, meta(kv), valueView.render(unb64(kv.value), showKey(key)), actions, history);
    }

    function confirmDelete(kv: KeyValue, actions: HTMLElement): void {
      const key = unb64(kv.key);
      const msg = h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm delete' });
      const yes = h('button', { type: 'button', class: 'danger', onclick: () => void del() }, `Delete at revision ${kv.mod_revision}`);
      replace(msg, h('span', {}, `Delete ${showKey(key)}? `), yes, h('button', { type: 'button', onclick: () => msg.remove() }, 'Cancel'));
      actions.after(msg);
      yes.focus();
      async function del(): Promise<void> {
        try {
          const r = await casTxn(key, kv.mod_revision ?? '0', [{ request_delete_range: { key: b64(key) } }]);
          if (r.succeeded) {
            replace(detail, h('p', { role: 'status' }, `Deleted ${showKey(key)} at revision ${r.header?.revision}.`));
            void load(true);
          } else {
            const now = r.responses?.[0]?.response_range?.kvs?.[0];
            msg.replaceWith(errorBox(`Not deleted: the key changed since revision ${kv.mod_revision} (${now ? `now at mod revision ${now.mod_revision}` : 'it was deleted'}). Reload it to see the change.`));
          }
        } catch (e) {
          msg.replaceWith(errorBox((e as Error).message));
        }
      }
    }

    function openEditor(kv: KeyValue | undefined): void {
      const creating = kv === undefined;
      const keyInput = h('input', { type: 'text', name: 'key', required: true, spellcheck: 'false', value: creating ? toText(prefix) : toText(unb64(kv.key)), readonly: !creating });
      const valueInput = h('textarea', { name: 'value', rows: '10', spellcheck: 'false' });
      valueInput.value = creating ? '' : toText(unb64(kv.value));
      const out = h('div', { 'aria-live': 'polite' });
      const expected = creating ? '0' : (kv.mod_revision ?? '0');
      const form = h(
        'form',
        {
          class: 'editor',
          onsubmit: (e: Event) => {
            e.preventDefault();
            void save();
          },
        },
        h('h2', {}, creating ? 'New key' : `Edit ${showKey(unb64(kv.key))}`),
        field('Key', keyInput),
        field('Value', valueInput, creating ? 'Created only if the key does not exist yet.' : `Saved only if the key is still at mod revision ${expected}.`),
        h('div', { class: 'actions' }, h('button', { type: 'submit' }, creating ? 'Create' : 'Save'), h('button', { type: 'button', onclick: () => (creating ? replace(detail) : showKv(kv)) }, 'Cancel')),
        out,
      );
      replace(detail, form);
      (creating ? keyInput : valueInput).focus();

      async function save(): Promise<void> {
        const key = fromText(keyInput.value);
        if (key === '') return replace(out, errorBox('A key is required.'));
        const put: Record<string, string> = { key: b64(key), value: b64(fromText(valueInput.value)) };
        if (kv?.lease && kv.lease !== '0') put.lease = kv.lease;
        try {
          const r = await casTxn(key, expected, [{ request_put: put }]);
          if (r.succeeded) {
            announce(`Saved ${showKey(key)} at revision ${r.header?.revision}`);
            await openKey(key);
            void load(true);
            return;
          }
          const now = r.responses?.[0]?.response_range?.kvs?.[0];
          const why = creating
            ? `Not created: ${showKey(key)} already exists (mod revision ${now?.mod_revision}).`
            : `Not saved: ${showKey(key)} changed after you opened it at mod revision ${expected}; ${now ? `it is now at mod revision ${now.mod_revision}` : 'it has been deleted'}. Your text is kept; reload the key to see the change.`;
          replace(out, errorBox(why), now ? h('button', { type: 'button', onclick: () => showKv(now) }, 'Show the current value') : null);
        } catch (e) {
          replace(out, errorBox((e as Error).message));
        }
      }
    }

    async function showHistory(kv: KeyValue, into: HTMLElement): Promise<void> {
      const key = unb64(kv.key);
      const versions: KeyValue[] = [kv];
      let note = '';
      let cur = kv;
      try {
        while (versions.length < 20 && BigInt(cur.version ?? '1') > 1n) {
          const r = await range(key, { revision: (BigInt(cur.mod_revision ?? '1') - 1n).toString() });
          const prev = r.kvs?.[0];
          if (prev === undefined) break;
          versions.push(prev);
          cur = prev;
        }
        if (versions.length === 20) note = 'Showing the last 20 versions.';
      } catch (e) {
        note = e instanceof ApiError && e.message.includes('compacted') ? 'Older versions were compacted away.' : (e as Error).message;
      }
      replace(
        into,
        h('h3', {}, 'History'),
        h(
          'ol',
          { class: 'versions' },
          versions.map((v) =>
            h(
              'li',
              {},
              h('button', { type: 'button', class: 'link', onclick: () => showKv(v, v.mod_revision) }, `revision ${v.mod_revision} (version ${v.version})`),
              h('span', { class: 'muted' }, ` ${toText(unb64(v.value)).slice(0, 60)}`),
            ),
          ),
        ),
        note ? h('p', { class: 'muted' }, note) : null,
      );
    }

    void load(true);
    return () => {
      gone = true;
    };
  },
};
