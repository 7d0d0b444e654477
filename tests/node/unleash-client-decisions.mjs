// Unleash's own Node SDK (the pinned unleash-client) deciding for the tests:
// reads {url, token, flags: [...], contexts: [...]} as JSON on stdin, waits
// until the SDK has fetched from the server, and prints, per context, per
// flag, {enabled, variant: {name, enabled, payload}} as one JSON array.
import { initialize } from 'unleash-client';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { url, token, flags, contexts } = JSON.parse(input);

const client = initialize({
    url,
    appName: 'node-sdk-oracle',
    customHeaders: { Authorization: token },
    refreshInterval: 60_000,
    disableMetrics: true,
});
client.on('error', (e) => console.error(`unleash-client: ${e}`));
await new Promise((resolve, reject) => {
    client.once('synchronized', resolve);
    setTimeout(() => reject(new Error('unleash-client did not synchronize in 20 s')), 20_000);
});

const out = contexts.map((context) =>
    Object.fromEntries(
        flags.map((flag) => {
            const v = client.getVariant(flag, context);
            return [
                flag,
                {
                    enabled: client.isEnabled(flag, context),
                    variant: { name: v.name, enabled: v.enabled, payload: v.payload ?? null },
                },
            ];
        }),
    ),
);
// Exit only once the pipe has taken everything.
process.stdout.write(JSON.stringify(out), () => {
    client.destroy();
    process.exit(0);
});
