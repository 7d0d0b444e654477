// The page's shell: sign-in, the theme toggle, the reload-error banner,
// and a hash router over the three views (#/, #/flag/NAME, #/audit/OFFSET).

import * as api from './api.js';
import { h, when } from './dom.js';
import { listPage } from './list.js';
import { flagPage } from './flag.js';
import { auditPage } from './audit.js';

const main = document.getElementById('main');
const noticeBox = document.getElementById('notice');
const banner = document.getElementById('banner');
const who = document.getElementById('who');
const signout = document.getElementById('signout');

// What the views share: who is signed in, notices, the refresh timer.
const ctx = {
  canWrite: false,
  readOnlyReason: '',
  timer: null,
  generation: 0,
  reload: async () => {},
  notice(text, isError) {
    noticeBox.textContent = text;
    noticeBox.className = isError ? 'notice error' : 'notice';
    noticeBox.hidden = false;
  },
  // Runs `fn` now and every `ms` (0: once) until the view changes.
  every(ms, fn) {
    const mine = ctx.generation;
    const tick = async () => {
      if (mine !== ctx.generation) return;
      try {
        await fn();
      } catch (e) {
        if (!(e instanceof api.ApiError && e.status === 401)) ctx.notice(e.message, true);
      }
      if (ms > 0 && mine === ctx.generation) ctx.timer = setTimeout(tick, ms);
    };
    tick();
  },
  // The banner for a rejected edit of the flags file (it changes no
  // version, so it is asked for at every refresh).
  async status() {
    showStatus(await api.get('_status'));
  },
};

function showStatus(status) {
  const err = status && status.last_error;
  if (!err) {
    banner.hidden = true;
    banner.replaceChildren();
    return;
  }
  banner.replaceChildren(
    h('strong', { text: 'The last edit of the flags was rejected' }),
    ' (' + when(err.at) + '); version ' + status.version + ' keeps serving.',
    h('ul', { id: 'reload-errors' }, (err.errors || []).map((e) => h('li', { class: 'mono' },
      [e.source, e.line, e.column].filter((x) => x !== undefined && x !== null).join(':') + ': ' +
      (e.flag ? 'flag `' + e.flag + '`' + (e.field ? ', field `' + e.field + '`' : '') + ': ' : '') + e.message))));
  banner.hidden = false;
}

function signIn(message) {
  stop();
  who.textContent = '';
  signout.hidden = true;
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', required: true, 'aria-describedby': 'signin-help' });
  const error = h('p', { class: 'error-text', role: 'alert', id: 'signin-error', text: message || '' });
  const form = h('form', { class: 'signin', id: 'signin' },
    h('h1', { text: 'Sign in' }),
    h('label', { for: 'token', text: 'Admin token' }), input,
    h('p', { id: 'signin-help', text: 'A read or write token of the admin API. It is kept in this tab only (sessionStorage) and sent as a bearer header.' }),
    error,
    h('button', { type: 'submit', class: 'primary', id: 'signin-submit' }, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = input.value.trim();
    try {
      const me = await api.call('GET', '_whoami', { auth: value });
      api.setToken(value);
      start(me);
    } catch (e) {
      error.textContent = e instanceof api.ApiError && e.status === 401 ? 'This token is not accepted.' : e.message;
    }
  });
  main.replaceChildren(form);
  input.focus();
}

function stop() {
  ctx.generation++;
  clearTimeout(ctx.timer);
  const d = document.getElementById('dialog');
  if (d.open) d.close();
}

function route() {
  stop();
  noticeBox.hidden = true;
  const hash = location.hash.replace(/^#/, '') || '/';
  const flag = hash.match(/^\/flag\/(.+)$/);
  const audit = hash.match(/^\/audit(?:\/(\d+))?$/);
  if (flag) flagPage(ctx, main, decoded(flag[1]));
  else if (audit) auditPage(ctx, main, Number(audit[1] || 0));
  else listPage(ctx, main);
}

// A hand-typed address may not be valid percent-encoding (`%E0`): the
// text as it stands then, rather than an exception that leaves the page
// as it was.
function decoded(text) {
  try {
    return decodeURIComponent(text);
  } catch (_) {
    return text;
  }
}

function start(me) {
  ctx.canWrite = me.role === 'write';
  ctx.readOnlyReason = ctx.canWrite ? '' : 'Read-only token “' + me.name + '”: it may look but not change flags';
  who.textContent = 'signed in as ' + me.name + ' (' + me.role + ')';
  document.body.dataset.role = me.role;
  signout.hidden = false;
  window.onhashchange = route;
  route();
}

function theme() {
  const button = document.getElementById('theme');
  const modes = ['auto', 'light', 'dark'];
  const apply = (mode) => {
    if (mode === 'auto') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = mode;
    button.textContent = 'Theme: ' + mode;
    button.title = mode === 'auto' ? 'Colours follow the system setting' : 'Colours: ' + mode;
  };
  let mode = localStorage.getItem('flags.theme') || 'auto';
  apply(mode);
  button.addEventListener('click', () => {
    mode = modes[(modes.indexOf(mode) + 1) % modes.length];
    localStorage.setItem('flags.theme', mode);
    apply(mode);
  });
}

api.whenUnauthorized(() => {
  api.forgetToken();
  signIn('The token was refused; sign in again.');
});

signout.addEventListener('click', () => {
  api.forgetToken();
  window.onhashchange = null;
  signIn('');
});

theme();
if (api.token()) {
  // A refused token is handled by `whenUnauthorized` (one sign-in form).
  api.call('GET', '_whoami').then(start, (e) => {
    if (!(e instanceof api.ApiError && e.status === 401)) signIn(e.message);
  });
} else {
  signIn('');
}
