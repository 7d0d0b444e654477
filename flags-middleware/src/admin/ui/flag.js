// One flag: its definition as TOML, live per-arm charts, the guard's
// window and verdict, and the audit entries for it.

import { get, guardState, flagPath, ApiError } from './api.js';
import { h, setText, percent, count, when, duration } from './dom.js';
import * as s from './summary.js';
import * as act from './actions.js';
import { Series, charts } from './chart.js';
import { auditTable } from './audit.js';

const REFRESH_MS = 3000;
// The flag's newest audit entries shown.
const AUDIT_SHOWN = 50;

function figures(pairs) {
  return h('dl', { class: 'figures' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]));
}

function armFigures(a) {
  if (!a) return '–';
  const latency = a.latency_ms === null || a.latency_ms === undefined ? '' : ', latency ' + a.latency_ms + ' ms';
  return count(a.requests) + ' requests, ' + count(a.bad) + ' bad (' + percent(a.rate, 2) + ')' + latency;
}

function guardFiguresOf(g) {
  if (!g) return h('p', { class: 'muted', text: 'The rollout guard does not watch this flag.' });
  const last = g.last || {};
  const finding = last.finding;
  const w = g.window || {};
  const plan = g.plan;
  return figures([
    ['Verdict', h('span', { class: 'verdict-' + (last.status || 'none'), id: 'verdict', text: last.status || 'not checked yet' })],
    ['Checked', when(last.at_ms)],
    ['Window', duration(w.span_ms)],
    ['New arm', armFigures(w.new)],
    ['Old arm', armFigures(w.old)],
    finding ? ['Finding', typeof finding === 'string' ? finding : JSON.stringify(finding)] : null,
    ['Kills', count(g.kills)],
    plan ? ['Plan', s.planText(plan)] : ['Plan', 'none'],
    plan ? ['In step', duration(plan.time_in_step_ms) + (plan.time_left_ms ? ', ' + duration(plan.time_left_ms) + ' left' : '')] : null,
    plan && plan.halted_by ? ['Halted by', String(plan.halted_by)] : null,
  ]);
}

export function flagPage(ctx, main, name) {
  const series = new Series();
  const title = h('h1', { text: name });
  const desc = h('p', { class: 'desc' });
  const head = h('div', { class: 'toolbar' });
  const def = h('pre', { class: 'toml', id: 'toml' });
  const live = h('div', { id: 'live' });
  const table = h('ul', { class: 'arms', id: 'arms-now' });
  const guardFigures = h('div');
  const planOps = h('div', { class: 'actions' });
  const guard = h('div', { id: 'guard' }, guardFigures, planOps);
  const audit = h('div', { id: 'flag-audit' });
  main.replaceChildren(
    h('p', {}, h('a', { href: '#/', text: '← All flags' })),
    title, desc, head,
    h('section', {}, h('h2', { text: 'Live, per arm' }), table, live),
    h('div', { class: 'sections' },
      h('section', {}, h('h2', { text: 'Definition' }), def),
      h('section', {}, h('h2', { text: 'Rollout guard' }), guard)),
    h('section', {}, h('h2', { text: 'Audit' }), audit));

  let shown = null;
  let auditVersion = null;
  let planKey = null;
  const state = h('span', { id: 'state' });
  const rolloutNow = h('span');
  const strategy = h('span', { class: 'small' });
  const variants = h('span', { class: 'small' });
  const versionNow = h('span', { class: 'version' });
  const toggle = act.writeButton(ctx, 'Kill', () =>
    (toggle.dataset.action === 'enable' ? act.enable : act.kill)(ctx, shown.flag, shown.version));
  head.replaceChildren(state, rolloutNow, strategy, variants, versionNow,
    h('span', { class: 'actions' }, toggle,
      act.writeButton(ctx, 'Rollout…', () => act.rollout(ctx, shown.flag, shown.version), { 'data-action': 'rollout' }),
      act.writeButton(ctx, 'Users…', () => act.editUsers(ctx, shown.flag, shown.version), { 'data-action': 'users' })));

  function render(one, g) {
    const flag = one.flag;
    shown = { flag, version: one.version };
    setText(desc, flag.description || '');
    const st = s.state(flag);
    setText(state, st);
    state.className = 'state ' + st;
    setText(rolloutNow, 'rollout ' + s.rolloutText(flag));
    setText(strategy, s.strategyText(flag));
    setText(variants, s.variantsText(flag) ? 'variants: ' + s.variantsText(flag) : '');
    setText(versionNow, 'version ' + one.version);
    setText(toggle, st === 'killed' ? 'Enable' : 'Kill');
    toggle.className = st === 'killed' ? '' : 'danger';
    toggle.dataset.action = st === 'killed' ? 'enable' : 'kill';
    setText(def, flag.toml || JSON.stringify(flag.definition, null, 2));
    series.add(flag.counters, Date.now());
    table.replaceChildren(...s.arms(flag).map((a) =>
      h('li', {}, a.arm + ': ' + count(a.requests) + ' requests, ' + count(a.errors) + ' 5xx (' + percent(a.error_rate, 2) + '), p95 ' + (a.p95_ms === null ? '–' : a.p95_ms + ' ms'))));
    live.replaceChildren(...charts(series));
    const mine = s.guardOf(g, name);
    guardFigures.replaceChildren(guardFiguresOf(mine));
    const key = mine && mine.plan ? mine.plan.status : null;
    if (key !== planKey) {
      planKey = key;
      planOps.replaceChildren(...act.planButtons(ctx, flag, mine && mine.plan, () => shown.version));
    }
  }

  async function refreshAudit(version) {
    if (version === auditVersion) return;
    auditVersion = version;
    const page = await get('_audit?limit=' + AUDIT_SHOWN + '&flag=' + encodeURIComponent(name));
    audit.replaceChildren(page.entries.length
      ? auditTable(page.entries, false)
      : h('p', { class: 'muted', text: 'No changes to this flag in the audit log.' }));
  }

  async function refresh() {
    let one;
    try {
      one = await get(flagPath(name));
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        main.replaceChildren(h('h1', { text: name }), h('p', { text: 'There is no flag by this name (any more).' }), h('a', { href: '#/', text: 'All flags' }));
        return false;
      }
      throw e;
    }
    render(one, await guardState());
    await refreshAudit(one.version);
    await ctx.status();
    return true;
  }

  ctx.reload = () => refresh();
  ctx.every(REFRESH_MS, refresh);
}
