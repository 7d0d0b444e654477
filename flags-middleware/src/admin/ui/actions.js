// The write controls: kill, enable, rollout, user list, plan operations.
// Each sends If-Match with the version the user was looking at when they
// opened it; a 412 for a change to that very flag says so and reloads it
// (another flag's change is not a conflict), a 400 shows the field error
// where the value was typed.

import { call, flagPath, ApiError } from './api.js';
import { h } from './dom.js';
import { rollouts, users } from './summary.js';

// A button that changes flags; disabled, with the reason as its tooltip,
// for a read token.
export function writeButton(ctx, label, onclick, attrs) {
  const b = h('button', Object.assign({ type: 'button', onclick }, attrs || {}), label);
  if (!ctx.canWrite) {
    b.disabled = true;
    b.title = ctx.readOnlyReason;
  }
  return b;
}

// Opens the modal dialog. `submit` runs on confirm; a 400 it throws is
// shown inside the dialog, which stays open for a correction.
function open(ctx, { title, content, confirm, danger, submit }) {
  const d = document.getElementById('dialog');
  const error = h('p', { class: 'error-text', role: 'alert', id: 'dialog-error' });
  const ok = h('button', { type: 'submit', class: danger ? 'danger' : 'primary', id: 'dialog-confirm' }, confirm);
  const cancel = h('button', { type: 'button', id: 'dialog-cancel', onclick: () => d.close() }, 'Cancel');
  // The server checks the values (and names the field); the browser's own
  // checks would hide its message.
  const form = h('form', { novalidate: true }, h('h2', { id: 'dialog-title', text: title }), content, error, h('div', { class: 'buttons' }, cancel, ok));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    ok.disabled = true;
    error.textContent = '';
    try {
      const keepOpen = await submit();
      if (!keepOpen) d.close();
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) {
        error.textContent = e.fieldErrors().join('\n');
      } else {
        d.close();
        ctx.notice(e.message, true);
      }
    } finally {
      ok.disabled = false;
    }
  });
  d.replaceChildren(form);
  d.showModal();
  const first = form.querySelector('input, textarea') || ok;
  first.focus();
}

// Sends one write about `flag`. Resolves when done (or when a 412 was
// reported and the flag reloaded); throws a 400 for the dialog to show.
// The version is the whole flag set's, so a change to any other flag makes
// it stale too: when `flag` is still defined as the user saw it, the write
// is sent once more against the newer version. (`sameFlagWillDo` is false
// for plan operations, which depend on more than the definition.)
async function send(ctx, flag, version, method, rest, body, done, sameFlagWillDo = true) {
  const name = flag.name;
  try {
    const resp = await call(method, flagPath(name, rest), { body, version });
    ctx.notice(done);
    await ctx.reload(name, resp);
  } catch (e) {
    if (e instanceof ApiError && e.status === 412) {
      const now = sameFlagWillDo ? await current(name) : null;
      if (now && sameDefinition(flag, now.flag)) {
        return send(ctx, now.flag, now.version, method, rest, body, done, false);
      }
      ctx.notice('“' + name + '” was changed by someone else: it has been reloaded, check it and try again.', true);
      await ctx.reload(name);
      return;
    }
    if (e instanceof ApiError && e.status === 400) throw e;
    if (e instanceof ApiError && e.status === 403) {
      ctx.notice(e.message, true);
      return;
    }
    throw e;
  }
}

// The flag and the version as they are now, or null.
async function current(name) {
  try {
    return await call('GET', flagPath(name));
  } catch (_) {
    return null;
  }
}

// Whether two reads of a flag define it alike (its counters aside).
function sameDefinition(a, b) {
  return a.unleash !== undefined && JSON.stringify(a.unleash) === JSON.stringify(b.unleash);
}

export function kill(ctx, flag, version) {
  open(ctx, {
    title: 'Kill ' + flag.name + '?',
    content: h('p', {}, 'Flag “', h('strong', { text: flag.name }), '” will be off for everyone on the next request.'),
    confirm: 'Kill ' + flag.name,
    danger: true,
    submit: () => send(ctx, flag, version, 'POST', '/kill', undefined, flag.name + ' killed'),
  });
}

export async function enable(ctx, flag, version) {
  try {
    await send(ctx, flag, version, 'POST', '/enable', undefined, flag.name + ' enabled');
  } catch (e) {
    ctx.notice(e instanceof ApiError ? e.fieldErrors().join('; ') : e.message, true);
  }
}

export function rollout(ctx, flag, version) {
  const current = rollouts(flag)[0];
  const start = current === undefined ? 100 : current;
  const range = h('input', { type: 'range', min: 0, max: 100, step: 1, value: start, 'aria-label': 'Rollout percentage (slider)' });
  const number = h('input', { type: 'number', min: 0, max: 100, step: 1, value: start, id: 'rollout-percent', 'aria-label': 'Rollout percentage' });
  range.addEventListener('input', () => { number.value = range.value; });
  number.addEventListener('input', () => { range.value = number.value; });
  open(ctx, {
    title: 'Rollout of ' + flag.name,
    content: [
      h('p', { class: 'muted' }, 'Now ' + (current === undefined ? 'no rollout rule' : current + '%') + '. Nothing changes until you press Apply.'),
      h('div', { class: 'row' }, range, number, '%'),
    ],
    confirm: 'Apply',
    submit: () => {
      const raw = number.value.trim();
      const percent = raw === '' ? null : Number(raw);
      return send(ctx, flag, version, 'PUT', '/rollout', { percent }, flag.name + ' rolled out to ' + raw + '%');
    },
  });
}

export function editUsers(ctx, flag, version) {
  const area = h('textarea', { id: 'users-list', 'aria-label': 'User ids, one per line' });
  area.value = users(flag).join('\n');
  open(ctx, {
    title: 'Users of ' + flag.name,
    content: [h('p', { class: 'muted' }, 'One user id per line; these users always get the flag.'), area],
    confirm: 'Save users',
    submit: () => {
      const list = area.value.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
      return send(ctx, flag, version, 'PUT', '/users', { users: list }, flag.name + ': ' + list.length + ' users');
    },
  });
}

const PLAN_OPS = {
  pause: 'Pause the plan: it stays at its step until resumed.',
  resume: 'Resume the plan from where it was paused.',
  restart: 'Restart the plan at its first step, with the same users.',
  abandon: 'Abandon the plan: the flag stays as it is, guarded.',
};

export function planOp(ctx, flag, op, version) {
  const go = () => send(ctx, flag, version, 'POST', '/plan/' + op, undefined, flag.name + ': plan ' + op, false);
  const run = () => go().catch((e) => ctx.notice(e.message, true));
  if (op === 'pause' || op === 'resume') {
    run();
    return;
  }
  open(ctx, {
    title: op[0].toUpperCase() + op.slice(1) + ' the plan of ' + flag.name + '?',
    content: h('p', {}, PLAN_OPS[op]),
    confirm: op[0].toUpperCase() + op.slice(1),
    danger: op === 'abandon',
    submit: go,
  });
}

// The plan buttons that make sense for a plan in its state.
const OPS_BY_STATUS = {
  pending: ['pause', 'abandon'],
  running: ['pause', 'restart', 'abandon'],
  paused: ['resume', 'restart', 'abandon'],
  halted: ['restart', 'abandon'],
  completed: ['restart'],
  abandoned: ['restart'],
};

export function planButtons(ctx, flag, plan, version) {
  if (!plan) return [];
  const ops = OPS_BY_STATUS[plan.status] || ['restart', 'abandon'];
  return ops.map((op) => writeButton(ctx, op, () => planOp(ctx, flag, op, version()), { title: PLAN_OPS[op], 'data-op': op }));
}
