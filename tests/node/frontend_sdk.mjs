// Drives Unleash's browser SDK (unleash-proxy-client) under Node against the
// app's Frontend API, and prints one JSON object for the Rust test
// (tests/sdk_peers.rs) to check. Settings come from the environment:
//   APP_URL, FRONTEND_TOKEN, ADMIN_TOKEN, USERS (count), FLAGS (comma list),
//   KILL_FLAG (a flag on for everyone, killed through the admin API).
// Users are user_0..user_{USERS-1}; every third is a beta user. The app's
// own resolver learns who they are from `customHeaders` (x-user-id, x-beta,
// x-email, x-country), as a browser's cookie or session header would carry it.
import { UnleashClient, InMemoryStorageProvider } from 'unleash-proxy-client';

const env = process.env;
const base = env.APP_URL;
const flags = env.FLAGS.split(',');
const users = Number(env.USERS);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function serverHeaders(i) {
  const h = { 'x-user-id': `user_${i}` };
  if (i % 3 === 0) h['x-beta'] = 'true';
  h['x-email'] = i % 4 === 0 ? `u${i}@acme.com` : `u${i}@example.org`;
  h['x-country'] = ['NO', 'SE', 'DE'][i % 3];
  return h;
}

function client(opts) {
  return new UnleashClient({
    url: `${base}/api/frontend`,
    clientKey: env.FRONTEND_TOKEN,
    appName: 'sdk-peers-test',
    storageProvider: new InMemoryStorageProvider(),
    ...opts,
  });
}

function answers(c) {
  const out = {};
  for (const f of flags) {
    const v = c.getVariant(f);
    out[f] = {
      enabled: c.isEnabled(f),
      variant: { name: v.name, enabled: v.enabled, payload: v.payload ?? null },
    };
  }
  return out;
}

const result = { users: {}, app: {}, errors: [] };

// 1. Many users, each its own client, as many browsers would be.
for (let start = 0; start < users; start += 50) {
  const batch = [];
  for (let i = start; i < Math.min(users, start + 50); i++) {
    batch.push((async () => {
      const c = client({
        context: { userId: `user_${i}` },
        customHeaders: serverHeaders(i),
        disableRefresh: true,
        disableMetrics: true,
      });
      c.on('error', (e) => result.errors.push(`user_${i}: ${JSON.stringify(e)}`));
      await c.start();
      result.users[`user_${i}`] = answers(c);
      c.stop();
      // The app's own handlers, through its flags layer, for the same user.
      const own = await fetch(`${base}/decide`, { headers: serverHeaders(i) });
      result.app[`user_${i}`] = await own.json();
    })());
  }
  await Promise.all(batch);
}

// 2. One client refreshing every second: unchanged refreshes get 304, a kill
//    through the admin API shows on the next refresh, its metrics reach the app.
const statuses = [];
const countingFetch = async (url, init) => {
  const res = await fetch(url, init);
  if (String(url).includes('/api/frontend?') || String(url).endsWith('/api/frontend')) {
    statuses.push(res.status);
  }
  return res;
};
const watcher = client({
  context: { userId: 'user_1' },
  customHeaders: serverHeaders(1),
  refreshInterval: 1,
  metricsInterval: 60,
  fetch: countingFetch,
});
await watcher.start();
const before = watcher.isEnabled(env.KILL_FLAG);
for (let i = 0; i < 7; i++) watcher.isEnabled('new_checkout_flow');
watcher.getVariant('checkout_experiment');
await sleep(2600);
const statusesBeforeKill = [...statuses];
const updated = new Promise((resolve) => watcher.once('update', resolve));
const kill = await fetch(`${base}/admin/flags/${env.KILL_FLAG}/kill`, {
  method: 'POST',
  headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` },
});
const killedAt = Date.now();
const seen = await Promise.race([updated.then(() => true), sleep(5000).then(() => false)]);
result.kill = {
  admin_status: kill.status,
  enabled_before: before,
  update_seen: seen,
  seen_after_ms: Date.now() - killedAt,
  enabled_after: watcher.isEnabled(env.KILL_FLAG),
  statuses_before_kill: statusesBeforeKill,
};
await watcher.sendMetrics();
watcher.stop();

// 3. A browser that claims what the server knows better.
const spoofer = client({
  context: { userId: 'user_123', properties: { beta: 'true' } },
  customHeaders: { 'x-user-id': 'user_spoof' },
  disableRefresh: true,
  disableMetrics: true,
});
await spoofer.start();
const honest = client({
  context: { userId: 'user_spoof_beta' },
  customHeaders: { 'x-user-id': 'user_spoof_beta', 'x-beta': 'true' },
  disableRefresh: true,
  disableMetrics: true,
});
await honest.start();
result.spoof = {
  spoofed_beta_search: spoofer.isEnabled('beta_search'),
  spoofed_ai_recommendations: spoofer.isEnabled('ai_recommendations'),
  honest_beta_search: honest.isEnabled('beta_search'),
};
spoofer.stop();
honest.stop();

console.log(JSON.stringify(result));
