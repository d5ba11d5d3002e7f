// Watch: live events under a prefix (put/delete, revision, a diff against the previous
// value), pause/resume, and reconnects that start again at the next unseen revision.

import { fromText, isText, prefixEnd, toText, unb64 } from '../bytes.js';
import { announce, field, h, replace } from '../dom.js';
import { lineDiff } from '../format.js';
import type { Screen } from '../session.js';
import { Watch, type WatchEvent, type WatchState } from '../watch-stream.js';
import { showKey } from './keys.js';

const maxRows = 500;

function showValue(v: string | undefined): string {
  const b = unb64(v);
  return isText(b) ? toText(b) : `(${b.length} bytes of binary)`;
}

function eventRow(e: WatchEvent): HTMLElement {
  const key = showKey(unb64(e.kv.key));
  const lines = (v: string | undefined, op: '+' | '-') => showValue(v).split('\n').map((text) => ({ op, text }));
  const diff =
    e.type === 'DELETE'
      ? e.prev_kv
        ? lines(e.prev_kv.value, '-')
        : []
      : e.prev_kv
        ? lineDiff(showValue(e.prev_kv.value), showValue(e.kv.value))
        : lines(e.kv.value, '+');
  return h(
    'li',
    { class: `event ${e.type.toLowerCase()}`, 'data-key': key },
    h('span', { class: 'badge' }, e.type),
    h('span', { class: 'rev' }, `rev ${e.kv.mod_revision}`),
    h('code', { class: 'key-name' }, key),
    e.type === 'PUT' && e.prev_kv === undefined ? h('span', { class: 'muted' }, ' (created)') : null,
    h(
      'pre',
      { class: 'diff', 'aria-label': `Change of ${key}` },
      diff.map((l) => h('span', { class: l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'same' }, `${l.op} ${l.text}\n`)),
    ),
  );
}

export const watchScreen: Screen = {
  id: 'watch',
  title: 'Watch',
  render(root) {
    let watch: Watch | undefined;
    let paused = false;
    let prefix = '';
    const prefixInput = h('input', { type: 'text', name: 'prefix', spellcheck: 'false', placeholder: '(every key)' });
    const revInput = h('input', { type: 'number', name: 'revision', min: '0', inputmode: 'numeric', placeholder: 'now' });
    const state = h('p', { class: 'watch-state', role: 'status' }, 'Not watching.');
    const pauseBtn = h('button', { type: 'button', disabled: true, 'aria-pressed': 'false', onclick: () => togglePause() }, 'Pause');
    const stopBtn = h('button', { type: 'button', disabled: true, onclick: () => stop() }, 'Stop');
    const clearBtn = h('button', { type: 'button', onclick: () => events.replaceChildren() }, 'Clear');
    const events = h('ol', { class: 'events', reversed: true, 'aria-label': 'Events, newest first' });

    const form = h(
      'form',
      {
        class: 'toolbar',
        onsubmit: (e: Event) => {
          e.preventDefault();
          prefix = prefixInput.value;
          paused = false;
          pauseBtn.textContent = 'Pause';
          pauseBtn.setAttribute('aria-pressed', 'false');
          start(revInput.value ? BigInt(revInput.value) : 0n);
        },
      },
      field('Key prefix', prefixInput),
      field('From revision', revInput),
      h('button', { type: 'submit' }, 'Watch'),
      pauseBtn,
      stopBtn,
      clearBtn,
    );
    replace(root, h('h1', {}, 'Watch'), form, state, events);

    function onState(s: WatchState, detail?: string): void {
      const where = `"${prefix || '(every key)'}"`;
      const text: Record<WatchState, string> = {
        connecting: `Connecting to ${where}…`,
        watching: `Watching ${where} from revision ${watch?.nextRev ?? '?'}.`,
        reconnecting: `Reconnecting (${detail ?? 'stream ended'}); will resume at revision ${watch?.nextRev ?? '?'}…`,
        stopped: paused ? `Paused; will resume at revision ${watch?.nextRev ?? '?'}.` : detail ? `Stopped: ${detail}` : 'Not watching.',
      };
      state.textContent = text[s];
      state.dataset.state = paused ? 'paused' : s;
    }

    function start(from: bigint): void {
      watch?.stop();
      const key = fromText(prefix);
      watch = new Watch({
        key: key === '' ? '\0' : key,
        rangeEnd: prefixEnd(key),
        startRevision: from,
        prevKv: true,
        onState,
        onEvents(evs) {
          for (const e of evs) events.prepend(eventRow(e));
          while (events.children.length > maxRows) events.lastElementChild?.remove();
          announce(`${evs.length} new event${evs.length === 1 ? '' : 's'}`);
        },
      });
      pauseBtn.disabled = false;
      stopBtn.disabled = false;
    }

    function togglePause(): void {
      if (watch === undefined) return;
      if (!paused) {
        paused = true;
        watch.stop();
        pauseBtn.textContent = 'Resume';
        pauseBtn.setAttribute('aria-pressed', 'true');
      } else {
        paused = false;
        pauseBtn.textContent = 'Pause';
        pauseBtn.setAttribute('aria-pressed', 'false');
        // no gap: the new stream starts at the first revision not shown yet
        start(watch.nextRev);
      }
    }

    function stop(): void {
      paused = false;
      watch?.stop();
      watch = undefined;
      pauseBtn.disabled = true;
      stopBtn.disabled = true;
      pauseBtn.textContent = 'Pause';
    }

    return () => watch?.stop();
  },
};
