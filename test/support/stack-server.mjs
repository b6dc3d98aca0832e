// Child process of the end-to-end tests: runs the demo stack with a file sink and a control
// endpoint, because jest cannot load the ESM-only oidc-provider / openid-client in process.
// GET /events: flushes both auditors, then answers with the raw bytes of the audit file.
// GET /sessions: the tokens of every RP session so far (the tests use them, and search for them).
import { createServer } from 'node:http';
import { fileSink } from '@authtrail/core';
import { startStack } from '@authtrail/testbed/stack.mjs';
import { readFile } from 'node:fs/promises';
import * as oc from 'openid-client';
import accounts from '@authtrail/testbed/accounts.cjs';

const { CLI_CLIENT, SHORT_CLIENT, MACHINE_CLIENT } = accounts;

const file = process.env.AUDIT_FILE;
const sessions = [];
const stack = await startStack({
  sinks: [fileSink(file)],
  companion: process.env.STACK_COMPANION !== '0',
  onSession: (session) => sessions.push({ ...session }),
});

// openid-client, as a real client application would use it against the provider.
const discover = (id, secret) =>
  oc.discovery(new URL(stack.issuer), id, secret, undefined, {
    execute: [oc.allowInsecureRequests],
  });
const cli = await discover(CLI_CLIENT.id, CLI_CLIENT.secret);
const pending = new Map(); // state -> { verifier, nonce }
const actions = {
  async authUrl({ scope }) {
    const verifier = oc.randomPKCECodeVerifier();
    const state = oc.randomState();
    const nonce = oc.randomNonce();
    pending.set(state, { verifier, nonce });
    const url = oc.buildAuthorizationUrl(cli, {
      redirect_uri: `${stack.rpUrl}${CLI_CLIENT.callbackPath}`,
      scope,
      state,
      nonce,
      prompt: 'consent',
      code_challenge: await oc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, secrets: [verifier, state, nonce] };
  },
  async code({ callbackUrl }) {
    const url = new URL(callbackUrl);
    const { verifier, nonce } = pending.get(url.searchParams.get('state'));
    const tokens = await oc.authorizationCodeGrant(cli, url, {
      pkceCodeVerifier: verifier,
      expectedNonce: nonce,
      expectedState: url.searchParams.get('state'),
    });
    return { ...tokens, sub: tokens.claims()?.sub };
  },
  refresh: ({ refresh_token }) => oc.refreshTokenGrant(cli, refresh_token),
  revoke: ({ token, hint }) =>
    oc.tokenRevocation(cli, token, hint ? { token_type_hint: hint } : undefined).then(() => ({})),
  introspect: ({ token }) => oc.tokenIntrospection(cli, token),
  userinfo: ({ access_token, sub }) => oc.fetchUserInfo(cli, access_token, sub),
  async clientCredentials({ scope, resource, client = 'short', secret }) {
    const c = client === 'machine' ? MACHINE_CLIENT : SHORT_CLIENT;
    const params = resource ? { scope, resource } : { scope };
    return oc.clientCredentialsGrant(await discover(c.id, secret ?? c.secret), params);
  },
};

async function readJson(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return JSON.parse(body || '{}');
}

const control = createServer(async (req, res) => {
  if (req.url?.startsWith('/client/')) {
    const action = actions[req.url.slice('/client/'.length)];
    res.setHeader('content-type', 'application/json');
    try {
      res.end(JSON.stringify({ ok: true, result: await action(await readJson(req)) }));
    } catch (err) {
      // openid-client reports a 401 invalid_client as a WWW-Authenticate challenge error.
      const challenge = err.cause?.[0]?.parameters?.error;
      res.end(
        JSON.stringify({ ok: false, error: err.error ?? challenge ?? err.code ?? String(err) }),
      );
    }
  } else if (req.url === '/events') {
    await stack.flush();
    const text = await readFile(file, 'utf8').catch(() => '');
    res.end(text);
  } else if (req.url === '/sessions') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(sessions));
  } else {
    res.statusCode = 404;
    res.end();
  }
});
control.listen(0, '127.0.0.1', () => {
  const { rpUrl, issuer, apiUrl } = stack;
  process.stdout.write(
    JSON.stringify({
      ready: { rpUrl, issuer, apiUrl, control: `http://127.0.0.1:${control.address().port}` },
    }) + '\n',
  );
});
process.on('SIGTERM', async () => {
  await stack.close();
  process.exit(0);
});
