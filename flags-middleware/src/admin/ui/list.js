// The flags list: one row per flag, updated in place every few seconds
// (so keyboard focus stays where it is), filtered by name.

import { get, guardState, flagPath } from './api.js';
import { h, setText, percent, count } from './dom.js';
import * as s from './summary.js';
import * as act from './actions.js';

const REFRESH_MS = 5000;

export function listPage(ctx, main) {
  const rows = new Map();
  const filter = h('input', { type: 'search', id: 'filter', placeholder: 'Filter by name', 'aria-label': 'Filter flags by name' });
  const version = h('span', { class: 'version', id: 'version' });
  const shown = h('span', { class: 'muted small', id: 'shown' });
  const tbody = h('tbody', { id: 'flag-rows' });
  const table = h('table', { class: 'flags' },
    h('thead', {}, h('tr', {}, ['Flag', 'State', 'Rollout', 'Strategy', 'Variants', 'Live per arm', 'Guard', 'Actions'].map((t) => h('th', { scope: 'col', text: t })))),
    tbody);
  main.replaceChildren(h('h1', { text: 'Flags' }), h('div', { class: 'toolbar' }, filter, version, shown), table);

  const applyFilter = () => {
    const q = filter.value.trim().toLowerCase();
    let n = 0;
    for (const [name, row] of rows) {
      const hide = q !== '' && !name.toLowerCase().includes(q);
      if (row.tr.hidden !== hide) row.tr.hidden = hide;
      if (!hide) n++;
    }
    setText(shown, q ? n + ' of ' + rows.size + ' shown' : rows.size + ' flags');
  };
  filter.addEventListener('input', applyFilter);

  function fill(row, flag, guard, listVersion) {
    // If-Match carries the version of what is shown; a dialog keeps the
    // one it was opened with, so a change while it is open is a 412.
    row.version = listVersion;
    row.flag = flag;
    setText(row.desc, flag.description || '');
    const st = s.state(flag);
    setText(row.state, st);
    row.state.className = 'state ' + st;
    setText(row.rollout, s.rolloutText(flag));
    setText(row.strategy, s.strategyText(flag));
    setText(row.variants, s.variantsText(flag) || '–');
    const arms = s.arms(flag);
    row.arms.replaceChildren(...(arms.length ? arms : [null]).map((a) =>
      a ? h('li', {}, a.arm + ': ' + count(a.requests) + ' req, ',
        h('span', { class: a.error_rate > 0.05 ? 'bad' : '' }, percent(a.error_rate) + ' 5xx'))
        : h('li', { class: 'muted', text: 'no requests yet' })));
    const g = s.guardOf(guard, flag.name);
    const status = g && g.last ? g.last.status : null;
    setText(row.verdict, status || (g ? 'not checked yet' : '–'));
    row.verdict.className = status ? 'verdict-' + status : 'muted';
    setText(row.plan, g && g.plan ? s.planText(g.plan) : '');
    setText(row.toggle, st === 'killed' ? 'Enable' : 'Kill');
    row.toggle.className = st === 'killed' ? '' : 'danger';
    row.toggle.dataset.action = st === 'killed' ? 'enable' : 'kill';
    // Rebuilt only when the plan's state changes, so focus stays put.
    const planStatus = g && g.plan ? g.plan.status : null;
    if (planStatus !== (row.planStatus || null)) {
      row.planStatus = planStatus;
      row.planOps.replaceChildren(...act.planButtons(ctx, flag, g && g.plan, () => row.version));
    }
  }

  // One row, built once and cloned for each flag (far cheaper than
  // building its thirty elements one by one); clicks are handled below.
  const template = h('tr', {},
    h('td', { 'data-label': 'Flag' }, h('a', { class: 'name' }), h('div', { class: 'desc' })),
    h('td', { 'data-label': 'State' }, h('span')),
    h('td', { 'data-label': 'Rollout' }),
    h('td', { 'data-label': 'Strategy', class: 'small' }),
    h('td', { 'data-label': 'Variants', class: 'small' }),
    h('td', { 'data-label': 'Live' }, h('ul', { class: 'arms' })),
    h('td', { 'data-label': 'Guard' }, h('span'), h('div', { class: 'small muted' })),
    h('td', {}, h('div', { class: 'actions' },
      act.writeButton(ctx, 'Kill', null, { 'data-action': 'kill', class: 'danger' }),
      act.writeButton(ctx, 'Rollout…', null, { 'data-action': 'rollout' }),
      act.writeButton(ctx, 'Users…', null, { 'data-action': 'users' }),
      h('span', { class: 'actions' }))));

  function makeRow(name) {
    const tr = template.cloneNode(true);
    tr.dataset.flag = name;
    const c = tr.children;
    const link = c[0].firstChild;
    link.textContent = name;
    link.href = '#/flag/' + encodeURIComponent(name);
    const buttons = c[7].firstChild;
    return {
      name, tr, desc: c[0].lastChild, state: c[1].firstChild, rollout: c[2], strategy: c[3],
      variants: c[4], arms: c[5].firstChild, verdict: c[6].firstChild, plan: c[6].lastChild,
      toggle: buttons.firstChild, planOps: buttons.lastChild,
    };
  }

  const ACTIONS = { kill: act.kill, enable: act.enable, rollout: act.rollout, users: act.editUsers };
  tbody.addEventListener('click', (ev) => {
    const button = ev.target.closest('button[data-action]');
    if (!button || button.disabled) return;
    const row = rows.get(button.closest('tr').dataset.flag);
    const action = ACTIONS[button.dataset.action];
    if (row && action) action(ctx, row.flag, row.version);
  });

  function render(list, guard) {
    const started = performance.now();
    setText(version, 'version ' + list.version);
    const seen = new Set();
    const fresh = document.createDocumentFragment();
    for (const flag of list.flags) {
      seen.add(flag.name);
      let row = rows.get(flag.name);
      if (!row) {
        row = makeRow(flag.name);
        rows.set(flag.name, row);
        fresh.appendChild(row.tr);
      }
      fill(row, flag, guard, list.version);
    }
    for (const [name, row] of rows) {
      if (!seen.has(name)) {
        row.tr.remove();
        rows.delete(name);
      }
    }
    const added = fresh.childNodes.length;
    if (added) {
      const first = tbody.childNodes.length === 0;
      tbody.appendChild(fresh);
      // Keep the API's order (by name) when flags were added later.
      if (!first) for (const flag of list.flags) tbody.appendChild(rows.get(flag.name).tr);
    }
    applyFilter();
    const built = performance.now();
    void table.offsetHeight; // lay out now, so the figure includes it
    const done = performance.now();
    document.body.dataset.listBuildMs = (built - started).toFixed(1);
    document.body.dataset.listRenderMs = (done - started).toFixed(1);
    document.body.dataset.listVersion = String(list.version);
  }

  async function refresh() {
    const [list, guard] = await Promise.all([get(''), guardState()]);
    render(list, guard);
    await ctx.status();
  }

  // After a write, or a 412: this flag as it is now.
  ctx.reload = async (name) => {
    const [one, guard] = await Promise.all([get(flagPath(name)), guardState()]);
    const row = rows.get(name);
    if (row) {
      fill(row, one.flag, guard, one.version);
    }
    setText(version, 'version ' + one.version);
  };

  ctx.every(REFRESH_MS, refresh);
}
