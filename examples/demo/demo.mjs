// npm run demo [-- --once] [-- --json]   (npm run demo --json: npm's own --json flag works too)
// Starts an OpenID Provider, an Express relying party and a bearer-token API on 127.0.0.1, walks
// through real logins, failures, API calls and a logout, and prints the audit events as they happen.
import { stdoutSink } from '@authtrail/core';
import { storeSink } from '@authtrail/store';
import { embeddedStore } from '@authtrail/store-embedded';
import browser from '@authtrail/testbed/browser.cjs';
import { SHORT_CLIENT, USERS, startStack } from '@authtrail/testbed/stack.mjs';

const { Browser, login } = browser;

const once = process.argv.includes('--once');
// `npm run demo --json` sets npm's own json flag, which also moves npm's script banner to stderr.
const json = process.argv.includes('--json') || process.env.npm_config_json === 'true';
// With --json, standard output carries the events as JSON lines and nothing else (it is piped into
// jq): titles and notes go to standard error.
const say = (text) => (json ? process.stderr : process.stdout).write(text);
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, s) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);

// One line per event as it happens: the pretty format on a terminal (coloured unless NO_COLOR),
// the raw JSON events with --json.
// And into the embedded store in ./.authtrail (or the directory AUTHTRAIL_STORE names), for
// `npx authtrail query` afterwards. One store for the three auditors, closed once at the end.
const named = process.env.AUTHTRAIL_STORE;
const storeDir = named && !/^[a-z][a-z0-9+.-]*:\/\//i.test(named) ? named : '.authtrail';
const store = embeddedStore({ directory: storeDir });
const sinks = [
  stdoutSink({ format: json ? 'native' : 'pretty' }),
  storeSink(store, { closeStore: false }),
];
const closeAll = async () => {
  await stack.close();
  await store.close();
};
const tryQuery = `npx authtrail query 'outcome:failure'${named ? ` --store ${storeDir}` : ''}`;

async function start() {
  const port = Number(process.env.PORT ?? 3000);
  try {
    return await startStack({ port, sinks });
  } catch (err) {
    if (err.code !== 'EADDRINUSE') throw err;
    return startStack({ port: 0, sinks }); // ports taken: any free ones
  }
}

// Opened (and migrated) before any server listens: PGlite's start takes the event loop for a
// second or more, which in the middle of a sign-in would outlast the servers' keep-alive.
await store.migrate();
const stack = await start();
const step = async (title, fn) => {
  say(`\n${paint(36, title)}\n`);
  await fn();
  await stack.flush();
};

await step('1. Alice mistypes her password, then signs in to the relying party', async () => {
  await login(new Browser(), stack.rpUrl, { user: 'alice', wrongPassword: 'not-her-password' });
});

const alice = new Browser();
await step('2. Alice signs in again and the RP calls the API with her access token', async () => {
  await login(alice, stack.rpUrl, { user: 'alice' });
  await alice.go(`${stack.rpUrl}/call-api`);
});

await step(
  '3. Calls to the API: no token, a malformed token, an expired token, a missing scope',
  async () => {
    await fetch(`${stack.apiUrl}/api/items`);
    await fetch(`${stack.apiUrl}/api/items`, {
      headers: { authorization: 'Bearer not.a-real.token' },
    });
    const res = await fetch(`${stack.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${SHORT_CLIENT.id}:${SHORT_CLIENT.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=read:items',
    });
    const { access_token: shortLived } = await res.json();
    await new Promise((r) => setTimeout(r, 1100)); // it lives one second
    await fetch(`${stack.apiUrl}/api/items`, {
      headers: { authorization: `Bearer ${shortLived}` },
    });
    await alice.go(`${stack.rpUrl}/call-api`); // still valid: accepted
    const { access_token: machineToken } = await (
      await fetch(`${stack.issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${SHORT_CLIENT.id}:${SHORT_CLIENT.secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials&scope=read:items',
      })
    ).json();
    await fetch(`${stack.apiUrl}/api/admin`, {
      headers: { authorization: `Bearer ${machineToken}` },
    }); // lacks admin:all
  },
);

await step('4. Bob denies consent at the provider', async () => {
  await login(new Browser(), stack.rpUrl, { user: 'bob', deny: true });
});

await step('5. A callback whose state was tampered with', async () => {
  await login(new Browser(), stack.rpUrl, {
    user: 'bob',
    tamper: (url) => url.replace(/state=[^&]+/, 'state=forged'),
  });
});

await step(
  '6. Alice mistypes her password again: she has signed in before, so it names her',
  async () => {
    const browser = new Browser();
    const form = await browser.go(`${stack.rpUrl}/login`);
    await browser.submit(form, /\/login$/, {
      username: 'alice',
      password: 'still-not-her-password',
    });
  },
);

await step('7. Alice logs out', async () => {
  const page = await alice.go(`${stack.rpUrl}/logout`);
  // The provider asks to confirm the logout; confirm it like a user would.
  if (/logout/i.test(page.body))
    await alice.submit(page, /session\/end\/confirm/, { logout: 'yes' });
});

if (once) {
  await closeAll();
  say(`\nDone. The events are in the store in ${storeDir}/: try ${paint(1, tryQuery)}\n`);
} else {
  say(
    `\nTry it yourself: open ${paint(1, stack.rpUrl)} and sign in as alice / ${USERS.alice.password}` +
      ` (or bob / ${USERS.bob.password}).\nEvents print here as they happen, and go to the store in ${storeDir}/:` +
      ` after Ctrl-C (the demo holds the store while it runs), try ${paint(1, tryQuery)}\n`,
  );
  const stop = async () => {
    await closeAll();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
