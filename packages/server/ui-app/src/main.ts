// The dashboard's shell: the login form when auth is on, the navigation, and the screen
// named by the URL's hash (#/keys, #/watch, ...).

import { call, needsLogin, range, setToken, whenUnauthenticated } from './api.js';
import { errorBox, field, h, replace } from './dom.js';
import type { Screen, Session } from './session.js';
import { clusterScreen } from './views/cluster.js';
import { keysScreen } from './views/keys.js';
import { leasesScreen } from './views/leases.js';
import { metricsScreen } from './views/metrics.js';
import { servicesScreen } from './views/services.js';
import { watchScreen } from './views/watch.js';

const screens: Screen[] = [keysScreen, watchScreen, clusterScreen, leasesScreen, servicesScreen, metricsScreen];

const session: Session = { authEnabled: false, isRoot: true };
let leave: (() => void) | undefined;

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const who = document.getElementById('who') as HTMLElement;

function current(): Screen {
  const id = location.hash.replace(/^#\/?/, '');
  return screens.find((s) => s.id === id) ?? screens[0];
}

function drawNav(): void {
  const here = current();
  replace(
    nav,
    h(
      'ul',
      {},
      screens.map((s) => h('li', {}, h('a', { href: `#/${s.id}`, 'aria-current': s === here ? 'page' : undefined }, s.title))),
    ),
  );
  replace(
    who,
    session.authEnabled && session.user
      ? [h('span', { class: 'user' }, `Signed in as ${session.user}`), h('button', { type: 'button', class: 'link', onclick: logout }, 'Log out')]
      : session.authEnabled
        ? null
        : h('span', { class: 'muted' }, 'auth off'),
  );
}

function show(focus: boolean): void {
  leave?.();
  leave = undefined;
  const s = current();
  document.title = `${s.title} · tsetcd`;
  drawNav();
  main.replaceChildren();
  leave = s.render(main, session);
  if (focus) main.querySelector('h1')?.setAttribute('tabindex', '-1');
  if (focus) (main.querySelector('h1') as HTMLElement | null)?.focus();
}

function logout(): void {
  setToken(undefined);
  session.user = undefined;
  login('');
}

function login(message: string): void {
  leave?.();
  leave = undefined;
  nav.replaceChildren();
  who.replaceChildren();
  const name = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password' });
  const out = h('div', { 'aria-live': 'assertive' }, message ? errorBox(message) : null);
  const form = h(
    'form',
    {
      class: 'login',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          const r = await call<{ token?: string }>('/v3/auth/authenticate', { name: name.value, password: password.value });
          setToken(r.token);
          session.user = name.value;
          // a user may read their own roles
          const me = await call<{ roles?: string[] }>('/v3/auth/user/get', { name: name.value }).catch(() => ({ roles: [] as string[] }));
          session.isRoot = name.value === 'root' || (me.roles ?? []).includes('root');
          password.value = '';
          show(true);
        } catch (err) {
          replace(out, errorBox((err as Error).message));
          password.select();
        }
      },
    },
    h('h1', {}, 'Log in'),
    h('p', {}, 'Authentication is enabled on this cluster. The token is kept in this page only.'),
    field('User name', name),
    field('Password', password),
    h('button', { type: 'submit' }, 'Log in'),
    out,
  );
  replace(main, form);
  name.focus();
}

async function start(): Promise<void> {
  whenUnauthenticated((message) => {
    session.authEnabled = true;
    login(message.includes('user name is empty') ? '' : `${message} — log in again.`);
  });
  try {
    await range('\0', { countOnly: true });
  } catch (e) {
    if (needsLogin(e)) return; // the login form is up
    replace(main, errorBox((e as Error).message));
    return;
  }
  show(false);
}

document.querySelector('.skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', () => {
  if (session.authEnabled && session.user === undefined) return;
  show(true);
});
void start();
