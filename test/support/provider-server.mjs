// Child process of test/express-oidc-auth-required.e2e.test.ts (jest cannot load the ESM-only
// oidc-provider and openid-client in process): the demo OpenID Provider and an
// express-openid-connect app left at its default `authRequired: true`, audited by
// @authtrail/express to AUDIT_FILE. The first stdout line is { ready: { rpUrl, control } };
// GET <control>/events flushes the auditor and answers with the raw bytes of the audit file.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import express from 'express';
import eoc from 'express-openid-connect';
import { createAuditor, fileSink } from '@authtrail/core';
import { authtrail } from '@authtrail/express';
import { startProvider } from '@authtrail/testbed/stack.mjs';
import accounts from '@authtrail/testbed/accounts.cjs';

const { AUDIT_FINGERPRINT_KEY, RP_CLIENT, RP_COOKIE_SECRET } = accounts;
const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
const urlOf = (server) => `http://127.0.0.1:${server.address().port}`;

const file = process.env.AUDIT_FILE;
const rpServer = await listen(createServer());
const rpUrl = urlOf(rpServer);
const op = await startProvider({ rpUrl, sinks: [fileSink(file)] });

const auditor = createAuditor({
  service: 'members',
  sinks: [fileSink(file)],
  keys: { fingerprint: AUDIT_FINGERPRINT_KEY },
});
const app = express();
app.use(authtrail({ auditor }));
// authRequired is left at its default (true): every route below needs a session.
app.use(
  eoc.auth({
    issuerBaseURL: op.issuer,
    baseURL: rpUrl,
    clientID: RP_CLIENT.id,
    clientSecret: RP_CLIENT.secret,
    secret: RP_COOKIE_SECRET,
    authorizationParams: { response_type: 'code', scope: 'openid email', prompt: 'consent' },
  }),
);
app.get('/members/:area', (req, res) => res.send(`hello ${req.oidc.user?.sub}`));
rpServer.on('request', app);

const control = await listen(
  createServer(async (req, res) => {
    if (req.url !== '/events') return res.writeHead(404).end();
    await Promise.all([auditor.flush(), op.auditor.flush()]);
    res.end(await readFile(file, 'utf8').catch(() => ''));
  }),
);
process.stdout.write(JSON.stringify({ ready: { rpUrl, control: urlOf(control) } }) + '\n');
process.on('SIGTERM', async () => {
  rpServer.closeAllConnections();
  control.closeAllConnections();
  await Promise.all([auditor.close(), op.close()]);
  process.exit(0);
});
