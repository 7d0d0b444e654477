// The audit log, newest first, a page at a time.

import { get } from './api.js';
import { h, when } from './dom.js';

const PAGE = 50;

function change(entry) {
  const parts = [];
  if (entry.before !== null && entry.before !== undefined) parts.push(h('pre', { class: 'mono' }, 'before: ' + JSON.stringify(entry.before, null, 1)));
  if (entry.after !== null && entry.after !== undefined) parts.push(h('pre', { class: 'mono' }, 'after: ' + JSON.stringify(entry.after, null, 1)));
  return parts.length ? h('details', {}, h('summary', { text: 'definition' }), parts) : '';
}

// A table of entries; `withFlag` adds the flag column (the log page).
export function auditTable(entries, withFlag) {
  const head = ['When', 'Who', 'What'].concat(withFlag ? ['Flag'] : [], ['Version', 'Message', '']);
  return h('table', { class: 'audit' },
    h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, entries.map((e) => h('tr', { 'data-flag': e.flag, 'data-action': e.action },
      h('td', { class: 'small mono', text: when(e.at) }),
      h('td', { text: e.actor + (e.instance ? ' @ ' + e.instance : '') }),
      h('td', { text: e.action }),
      withFlag ? h('td', {}, h('a', { href: '#/flag/' + encodeURIComponent(e.flag), text: e.flag })) : null,
      h('td', { text: String(e.version) }),
      h('td', { class: 'small', text: e.message || '' }),
      h('td', {}, change(e))))));
}

export function auditPage(ctx, main, offset) {
  const start = Math.max(0, offset || 0);
  const body = h('div', { id: 'audit' }, h('p', { class: 'muted', text: 'Loading…' }));
  const newer = h('a', { href: '#/audit/' + Math.max(0, start - PAGE), id: 'newer', text: '← Newer' });
  const older = h('a', { href: '#/audit/' + (start + PAGE), id: 'older', text: 'Older →' });
  const where = h('span', { class: 'muted' });
  const again = h('button', { type: 'button', onclick: () => refresh().catch((e) => ctx.notice(e.message, true)) }, 'Refresh');
  main.replaceChildren(h('h1', { text: 'Audit log' }), h('div', { class: 'pager' }, newer, where, older, again), body);
  newer.hidden = start === 0;

  async function refresh() {
    const page = await get('_audit?limit=' + PAGE + '&offset=' + start);
    where.textContent = page.entries.length
      ? 'entries ' + (start + 1) + '–' + (start + page.entries.length) + ', newest first'
      : 'no entries here';
    older.hidden = page.entries.length < PAGE;
    body.replaceChildren(page.entries.length ? auditTable(page.entries, true) : h('p', { class: 'muted', text: 'Nothing was changed yet.' }));
    await ctx.status();
  }
  // Once: a table that moved under the reader would lose their place.
  ctx.every(0, refresh);
}
