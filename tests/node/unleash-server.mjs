// Starts unleash-server (the pinned npm package) for the tests: its database,
// port and tokens come from the environment (UNLEASH_TEST_DB_* , PORT,
// INIT_ADMIN_API_TOKENS, INIT_BACKEND_API_TOKENS, read by Unleash itself).
// Prints "listening <port>" once it serves; exits when stdin closes, so a
// test that dies takes the server with it.
import { start } from 'unleash-server';

const env = process.env;
const unleash = await start({
    db: {
        host: env.UNLEASH_TEST_DB_HOST,
        port: Number(env.UNLEASH_TEST_DB_PORT),
        user: env.UNLEASH_TEST_DB_USER,
        password: env.UNLEASH_TEST_DB_PASSWORD ?? '',
        database: env.UNLEASH_TEST_DB_NAME,
        ssl: false,
    },
    server: { port: Number(env.PORT), host: '127.0.0.1' },
    logLevel: env.UNLEASH_TEST_LOG_LEVEL ?? 'error',
    disableLegacyFeaturesApi: false,
});
console.log(`listening ${env.PORT}`);
process.stdin.resume();
process.stdin.on('end', async () => {
    await unleash.stop();
    process.exit(0);
});
process.stdin.on('close', () => process.exit(0));
