// A small element builder: h('button', { type: 'button', onclick }, 'Save').

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else if (k === 'class') el.className = String(v);
    else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
    else if (k === 'checked' && 'checked' in el) (el as HTMLInputElement).checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

let nextId = 0;
/** A unique id for label/for and aria pairs. */
export const uid = (p: string): string => `${p}-${++nextId}`;

/** A labelled input: [label, input] inside a div. */
export function field(label: string, input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, hint?: string): HTMLDivElement {
  const id = input.id || uid('f');
  input.id = id;
  const hintEl = hint ? h('small', { id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl);
}

/** Polite announcement for screen readers (and the status line). */
export function announce(text: string): void {
  const s = document.getElementById('status');
  if (s) s.textContent = text;
}

/** An error box with the server's message. */
export const errorBox = (message: string): HTMLElement => h('p', { class: 'error', role: 'alert' }, message);

/**
 * Redraws `el` without losing a keyboard user's place: the focused control is found again
 * in the new content by its text (or the container takes the focus if it went away).
 */
export function redraw(el: HTMLElement, ...children: Child[]): void {
  const active = document.activeElement;
  const had = active instanceof HTMLElement && el.contains(active) ? { tag: active.tagName, text: active.textContent } : undefined;
  replace(el, ...children);
  if (had === undefined) return;
  const again = [...el.querySelectorAll<HTMLElement>(had.tag)].find((e) => e.textContent === had.text);
  if (again) again.focus();
  else {
    el.tabIndex = -1;
    el.focus();
  }
}
