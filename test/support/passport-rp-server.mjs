// Child process of test/passport-rp.e2e.test.ts: the demo OpenID Provider and an Express relying
// party built the way most Express apps do OIDC after express-openid-connect: express-session,
// Passport and openid-client's own Passport strategy (`openid-client/passport`), audited by
// @authtrail/express to AUDIT_FILE. Nothing in the app is written for authtrail but the two lines
// of its README. First stdout line: { ready: { rpUrl, issuer, control } }. GET <control>/events
// flushes both auditors and answers with the audit file; GET <control>/secrets lists what only
// this process saw (PKCE verifiers, session ids, tokens), for the secret canary.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import express from 'express';
import session from 'express-session';
import passport from 'passport';
import * as oc from 'openid-client';
import { Strategy } from 'openid-client/passport';
import { createAuditor, fileSink } from '@authtrail/core';
import { authtrail } from '@authtrail/express';
import { startProvider } from '@authtrail/testbed/stack.mjs';
import accounts from '@authtrail/testbed/accounts.cjs';

const { AUDIT_FINGERPRINT_KEY, RP_CLIENT, RP_COOKIE_SECRET } = accounts;
const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
const urlOf = (server) => `http://127.0.0.1:${server.address().port}`;

const file = process.env.AUDIT_FILE;
const secrets = new Set([RP_CLIENT.secret, RP_COOKIE_SECRET, AUDIT_FINGERPRINT_KEY]);
const rpServer = await listen(createServer());
const rpUrl = urlOf(rpServer);
const op = await startProvider({ rpUrl, sinks: [fileSink(file)] });

const config = await oc.discovery(new URL(op.issuer), RP_CLIENT.id, RP_CLIENT.secret, undefined, {
  execute: [oc.allowInsecureRequests],
});
passport.use(
  'oidc',
  new Strategy(
    { config, scope: 'openid profile', callbackURL: `${rpUrl}/callback` },
    (tokens, verified) => {
      for (const t of [tokens.access_token, tokens.id_token, tokens.refresh_token])
        if (t) secrets.add(t);
      verified(null, tokens.claims()); // the user is the ID token's claims, as openid-client's docs do
    },
  ),
);
passport.serializeUser((user, done) => done(null, user));
passport.deserializeUser((user, done) => done(null, user));

// The session store, watched only to feed the canary: every session id and PKCE verifier it held.
const store = new session.MemoryStore();
const set = store.set.bind(store);
store.set = (sid, data, done) => {
  secrets.add(sid);
  for (const value of Object.values(data))
    if (typeof value?.code_verifier === 'string') secrets.add(value.code_verifier);
  set(sid, data, done);
};

const auditor = createAuditor({
  service: 'passport-rp',
  sinks: [fileSink(file)],
  keys: { fingerprint: AUDIT_FINGERPRINT_KEY },
});
const app = express();
app.use(authtrail({ auditor }));
app.use(session({ store, secret: RP_COOKIE_SECRET, resave: false, saveUninitialized: false }));
app.use(passport.session());
app.get('/login', passport.authenticate('oidc', { prompt: 'consent' }));
app.get(
  '/callback',
  passport.authenticate('oidc', { successRedirect: '/', failureRedirect: '/signed-out' }),
);
app.get('/', (req, res) => res.send(req.user ? `hello ${req.user.sub}` : 'signed out'));
app.get('/signed-out', (_req, res) => res.send('signed out'));
app.get('/account', (req, res) =>
  req.isAuthenticated()
    ? res.send(`account of ${req.user.sub}`)
    : res.status(401).send('sign in first'),
);
app.get('/logout', (req, res, next) => req.logout((err) => (err ? next(err) : res.redirect('/'))));
app.use(authtrail.errors());
// The app's own error page: openid-client's errors end here (as a 500), never in the response.
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- Express knows error handlers by their four parameters
app.use((_err, _req, res, _next) => res.status(500).send('sign-in failed'));
rpServer.on('request', app);

const control = await listen(
  createServer(async (req, res) => {
    if (req.url === '/secrets') return res.end(JSON.stringify([...secrets]));
    if (req.url !== '/events') return res.writeHead(404).end();
    await Promise.all([auditor.flush(), op.auditor.flush()]);
    res.end(await readFile(file, 'utf8').catch(() => ''));
  }),
);
process.stdout.write(
  JSON.stringify({ ready: { rpUrl, issuer: op.issuer, control: urlOf(control) } }) + '\n',
);
process.on('SIGTERM', async () => {
  rpServer.closeAllConnections();
  control.closeAllConnections();
  await Promise.all([auditor.close(), op.close()]);
  process.exit(0);
});
