// Child process of test/express-oidc-refresh.e2e.test.ts (jest cannot load the ESM-only
// oidc-provider and openid-client in process): the demo OpenID Provider (it rotates refresh
// tokens) and an express-openid-connect app whose GET /refresh calls
// `req.oidc.accessToken.refresh()`, audited by @authtrail/express to AUDIT_FILE. GET /refresh?plain=1
// refreshes the same way outside authtrail's view (no `req.audit`), to compare what the app gets.
// The first stdout line is { ready: { rpUrl, issuer, control } }. Control: GET /events flushes both
// auditors and answers with the audit file's raw bytes; GET /tokens lists every token the RP held.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import express from 'express';
import { createAuditor, fileSink } from '@authtrail/core';
import { authtrail } from '@authtrail/express';
import accounts from '@authtrail/testbed/accounts.cjs';
import { listen, serveControl, urlOf } from './rp-control.mjs';

const { AUDIT_FINGERPRINT_KEY, RP_CLIENT, RP_COOKIE_SECRET } = accounts;

const file = process.env.AUDIT_FILE;
const rpServer = await listen(createServer());
const rpUrl = urlOf(rpServer);

const tokens = [];
const keep = ({ access_token, refresh_token, id_token }) =>
  tokens.push({ access_token, refresh_token, id_token });
const auditor = createAuditor({
  service: 'members',
  sinks: [fileSink(file)],
  keys: { fingerprint: AUDIT_FINGERPRINT_KEY },
});
const app = express();
app.use(authtrail({ auditor }));
// express-openid-connect is loaded only now, after the adapter was created (as an inline
// `app.use(require('express-openid-connect').auth())` below `app.use(authtrail())` loads it), and
// the demo provider after it (its module imports the library too): authtrail never loads the
// library itself, and still finds it before the first request.
const eoc = createRequire(import.meta.url)('express-openid-connect');
const { startProvider } = await import('@authtrail/testbed/stack.mjs');
const op = await startProvider({ rpUrl, sinks: [fileSink(file)] });
app.use(
  eoc.auth({
    issuerBaseURL: op.issuer,
    baseURL: rpUrl,
    clientID: RP_CLIENT.id,
    clientSecret: RP_CLIENT.secret,
    secret: RP_COOKIE_SECRET,
    authRequired: false,
    authorizationParams: {
      response_type: 'code',
      scope: 'openid profile email offline_access',
      prompt: 'consent',
    },
    afterCallback: (_req, _res, session) => (keep(session), session),
  }),
);
app.get('/refresh', eoc.requiresAuth(), async (req, res, next) => {
  if (req.query.plain) req.audit = undefined; // as if authtrail were not there
  try {
    const { access_token } = await req.oidc.accessToken.refresh();
    keep({ access_token, refresh_token: req.oidc.refreshToken, id_token: req.oidc.idToken });
    res.json({ refreshed: true });
  } catch (err) {
    next(err);
  }
});
app.use(authtrail.errors());
// What the app's own error handling sees of a failed refresh: the library's error as it was thrown.
app.use((err, _req, res, next) => {
  if (res.headersSent) return next(err);
  res.status(err.status >= 400 && err.status < 600 ? err.status : 500).json({
    name: err.name,
    message: err.message,
    code: err.code,
    error: err.error,
    error_description: err.error_description,
    status: err.status,
    own: Object.keys(err).sort(),
    // The functions the error passed through (its async stack), without file positions.
    frames: (err.stack ?? '')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(' (')[0]),
  });
});
rpServer.on('request', app);

await serveControl({ rpServer, rpUrl, op, auditor, file, extra: { '/tokens': () => tokens } });
