// A value shown as text, pretty JSON, YAML or a hex dump, chosen with a radio group.

import { hexdump, isText, toText, type Bytes } from '../bytes.js';
import { h, uid } from '../dom.js';
import { parseJson, prettyJson, toYaml } from '../format.js';

type Format = 'text' | 'json' | 'yaml' | 'hex';

export function render(value: Bytes, label: string): HTMLElement {
  const text = isText(value) ? toText(value) : undefined;
  const json = text === undefined ? undefined : parseJson(text);
  const shown: Record<Format, string | undefined> = {
    text,
    json: json && prettyJson(json.value),
    yaml: json ? toYaml(json.value) : text,
    hex: hexdump(value),
  };
  const pre = h('pre', { class: 'value', tabindex: '0', 'aria-label': `${label} value` });
  const name = uid('fmt');
  const pick = (f: Format) => {
    pre.textContent = shown[f] === '' ? '(empty)' : (shown[f] ?? '');
    pre.dataset.format = f;
  };
  const initial: Format = json && typeof json.value === 'object' && json.value !== null ? 'json' : text !== undefined ? 'text' : 'hex';
  const labels: Record<Format, string> = { text: 'Text', json: 'JSON', yaml: 'YAML', hex: 'Hex' };
  const group = h(
    'fieldset',
    { class: 'formats' },
    h('legend', {}, 'View as'),
    (Object.keys(labels) as Format[]).map((f) => {
      const id = uid('fmt');
      return h(
        'span',
        { class: 'radio' },
        h('input', { type: 'radio', name, id, value: f, checked: f === initial, disabled: shown[f] === undefined, onchange: () => pick(f) }),
        h('label', { for: id }, labels[f]),
      );
    }),
  );
  pick(initial);
  return h('div', { class: 'value-view' }, group, pre);
}
