// npm start: an Express relying party on http://127.0.0.1:4200 (PORT to change) that signs users in
// with express-openid-connect. One line of authtrail before auth() logs every login started,
// succeeded or failed and every logout; authtrail.errors() after the routes names why a callback
// failed. ISSUER / CLIENT_ID / CLIENT_SECRET point it at your provider; without them it starts the
// demo provider next to it (sign in as alice / wonderland-7), so it runs with no setup.
import express from 'express';
import eoc from 'express-openid-connect';
import { authtrail } from '@authtrail/express';
import { RP_CLIENT, USERS, startProvider } from '@authtrail/testbed/stack.mjs';
import browser from '@authtrail/testbed/browser.cjs';

const { auth, requiresAuth } = eoc;
const once = process.argv.includes('--once');

const app = express();
const server = app.listen(Number(process.env.PORT ?? 4200), '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const baseURL = `http://127.0.0.1:${server.address().port}`;
const op = process.env.ISSUER
  ? undefined
  : await startProvider({ rpUrl: baseURL, sinks: [{ name: 'quiet', write() {} }] });

// The one line: logins, callbacks and logouts become audit events (stdout JSON lines).
app.use(authtrail({ service: 'example-rp' }));
app.use(
  auth({
    issuerBaseURL: process.env.ISSUER ?? op.issuer,
    baseURL,
    clientID: process.env.CLIENT_ID ?? RP_CLIENT.id,
    clientSecret: process.env.CLIENT_SECRET ?? RP_CLIENT.secret,
    secret: process.env.SESSION_SECRET ?? 'example-rp-session-secret-change-me-0123',
    authRequired: false,
    idpLogout: true,
    authorizationParams: { response_type: 'code', scope: 'openid profile email' },
  }),
);
app.get('/', (req, res) => {
  res.send(
    req.oidc.isAuthenticated()
      ? `Hello ${req.oidc.user.name}. <a href="/profile">Profile</a> <a href="/logout">Log out</a>`
      : 'Hello stranger. <a href="/login">Log in</a>',
  );
});
app.get('/profile', requiresAuth(), (req, res) => res.json(req.oidc.user));
// Names the reason of a failed callback (state mismatch, access_denied ...) before your handler.
app.use(authtrail.errors());
app.use((err, _req, res, _next) => {
  res.status(err.status ?? 500).send(`Sign-in failed: ${err.error ?? 'error'}`);
});
process.stderr.write(`Relying party on ${baseURL}; audit events follow on stdout.\n`);

if (once) {
  // A scripted walk: a login, a profile visit, a logout, a login the user denies, and a callback
  // replayed from another browser (state mismatch).
  const { Browser, login } = browser;
  const alice = new Browser();
  await login(alice, baseURL, { user: 'alice', password: USERS.alice.password });
  await alice.go(`${baseURL}/profile`);
  const bye = await alice.go(`${baseURL}/logout`);
  await alice.submit(bye, /\/session\/end\/confirm$/);
  await login(new Browser(), baseURL, { user: 'bob', deny: true });
  const { callbackUrl } = await login(new Browser(), baseURL, { user: 'bob' });
  await new Browser().go(callbackUrl);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await op?.close();
} else {
  process.stderr.write(`Open ${baseURL}/login in a browser. Ctrl-C to stop.\n`);
  process.once('SIGINT', async () => {
    server.closeAllConnections();
    server.close();
    await op?.close();
    process.exit(0);
  });
}
