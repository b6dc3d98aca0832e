// Child process of test/openid-client-koa-rp.e2e.test.ts: the demo OpenID Provider and a Koa
// relying party written with openid-client directly (PKCE, a nonce, authorizationCodeGrant), its
// session in koa-session, audited by @authtrail/koa to AUDIT_FILE. The app tells authtrail who
// signed in with the `user` option. First stdout line: { ready: { rpUrl, issuer, control } }.
// GET <control>/events flushes both auditors and answers with the audit file; GET
// <control>/secrets lists what only this process saw (PKCE verifiers, nonces, tokens).
import { createServer } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import session from 'koa-session';
import * as oc from 'openid-client';
import { createAuditor, fileSink } from '@authtrail/core';
import { authtrail } from '@authtrail/koa';
import { startProvider } from '@authtrail/testbed/stack.mjs';
import accounts from '@authtrail/testbed/accounts.cjs';
import { listen, serveControl, urlOf } from './rp-control.mjs';

const { AUDIT_FINGERPRINT_KEY, RP_CLIENT, RP_COOKIE_SECRET } = accounts;

const file = process.env.AUDIT_FILE;
const secrets = new Set([RP_CLIENT.secret, RP_COOKIE_SECRET, AUDIT_FINGERPRINT_KEY]);
const rpServer = await listen(createServer());
const rpUrl = urlOf(rpServer);
const op = await startProvider({ rpUrl, sinks: [fileSink(file)] });
const config = await oc.discovery(new URL(op.issuer), RP_CLIENT.id, RP_CLIENT.secret, undefined, {
  execute: [oc.allowInsecureRequests],
});

const auditor = createAuditor({
  service: 'koa-rp',
  sinks: [fileSink(file)],
  keys: { fingerprint: AUDIT_FINGERPRINT_KEY },
  // Who signed in: the ID token claims the callback below keeps in the session.
  user: (ctx) => ctx.session?.claims,
});
const app = new Koa();
app.keys = [RP_COOKIE_SECRET];
app.use(authtrail({ auditor }));
app.use(session({ key: 'rp.session' }, app));

const router = new Router();
router.get('/login', async (ctx) => {
  const verifier = oc.randomPKCECodeVerifier();
  const nonce = oc.randomNonce();
  secrets.add(verifier).add(nonce);
  ctx.session.login = { verifier, nonce };
  const url = oc.buildAuthorizationUrl(config, {
    redirect_uri: `${rpUrl}/callback`,
    scope: 'openid profile',
    code_challenge: await oc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    prompt: 'consent',
  });
  ctx.redirect(url.href);
});
router.get('/callback', async (ctx) => {
  const login = ctx.session.login;
  if (!login) ctx.throw(400, 'no sign-in in progress');
  ctx.session.login = undefined;
  const tokens = await oc.authorizationCodeGrant(config, new URL(ctx.href), {
    pkceCodeVerifier: login.verifier,
    expectedNonce: login.nonce,
    idTokenExpected: true,
  });
  for (const t of [tokens.access_token, tokens.id_token, tokens.refresh_token])
    if (t) secrets.add(t);
  ctx.session.claims = tokens.claims();
  ctx.redirect('/');
});
router.get('/', (ctx) => {
  ctx.body = ctx.session.claims ? `hello ${ctx.session.claims.sub}` : 'signed out';
});
router.get('/account', (ctx) => {
  if (!ctx.session.claims) ctx.throw(401, 'sign in first');
  ctx.body = `account of ${ctx.session.claims.sub}`;
});
router.get('/logout', (ctx) => {
  // The user is named for authtrail before the session goes: the `user` option is asked once the
  // response is finished, and ctx.state.user is read on the relying party's routes.
  ctx.state.user = ctx.session.claims;
  ctx.session = null;
  ctx.redirect('/');
});
app.use(router.routes());
app.on('error', () => {}); // Koa's default logs every error: the tests provoke them on purpose
rpServer.on('request', app.callback());

await serveControl({
  rpServer,
  rpUrl,
  op,
  auditor,
  file,
  extra: { '/secrets': () => [...secrets] },
});
