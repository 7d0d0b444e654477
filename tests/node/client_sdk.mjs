// Drives Unleash's Node server SDK (unleash-client) against the app's client
// API and prints one JSON object for the Rust test (tests/sdk_peers.rs).
// Settings from the environment: APP_URL, CLIENT_TOKEN, ADMIN_TOKEN,
// CONTEXTS (count), FLAGS (comma list), CHANGE_FLAG (killed through the admin
// API once the SDK has synchronized).
import unleashClient from 'unleash-client';

const { Unleash, InMemStorageProvider } = unleashClient;
const env = process.env;
const flags = env.FLAGS.split(',');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function context(i) {
  return {
    userId: `user_${i}`,
    sessionId: `s${i}`,
    properties: {
      beta: i % 3 === 0 ? 'true' : 'false',
      email: i % 4 === 0 ? `u${i}@acme.com` : `u${i}@example.org`,
      country: ['NO', 'SE', 'DE'][i % 3],
    },
  };
}

function decisions(unleash, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const ctx = context(i);
    const row = {};
    for (const f of flags) {
      const v = unleash.getVariant(f, ctx);
      row[f] = {
        enabled: unleash.isEnabled(f, ctx),
        variant: { name: v.name, enabled: v.enabled, payload: v.payload ?? null },
      };
    }
    out.push(row);
  }
  return out;
}

const unleash = new Unleash({
  url: `${env.APP_URL}/api/`,
  appName: 'sdk-peers-node',
  customHeaders: { Authorization: env.CLIENT_TOKEN },
  refreshInterval: 1000,
  metricsInterval: 60000,
  storageProvider: new InMemStorageProvider(),
});
const errors = [];
unleash.on('error', (e) => errors.push(String(e && e.message ? e.message : e)));
unleash.on('warn', () => {});
await Promise.race([
  new Promise((resolve) => unleash.once('synchronized', resolve)),
  sleep(10000),
]);
const n = Number(env.CONTEXTS);
const result = { synchronized: unleash.isSynchronized(), before: decisions(unleash, n) };

const changed = new Promise((resolve) => unleash.once('changed', resolve));
const kill = await fetch(`${env.APP_URL}/admin/flags/${env.CHANGE_FLAG}/kill`, {
  method: 'POST',
  headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` },
});
const killedAt = Date.now();
const seen = await Promise.race([changed.then(() => true), sleep(6000).then(() => false)]);
result.change = { admin_status: kill.status, seen, seen_after_ms: Date.now() - killedAt };
result.after = decisions(unleash, n);
await unleash.flushMetrics();
unleash.destroy();
result.errors = errors;
console.log(JSON.stringify(result));
