// Child process of test/op-authorize-errors.e2e.test.ts (jest cannot load the ESM-only
// oidc-provider in process): a real node-oidc-provider audited by @authtrail/koa, with clients made
// to fail at its authorization endpoint, and an express-openid-connect app left at its defaults
// (response_type id_token, form_post) for a client registered for `code` only, audited by
// @authtrail/express. Nothing calls the provider before the test does: its first request is the
// test's. The first stdout line is { ready: { issuer, rpUrl, control } }; GET <control>/events
// flushes both auditors and answers with the raw bytes of the audit file.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import express from 'express';
import eoc from 'express-openid-connect';
import Provider from 'oidc-provider';
import { createAuditor, fileSink } from '@authtrail/core';
import { authtrail } from '@authtrail/express';
import { authtrail as authtrailKoa } from '@authtrail/koa';

const { CLIENTS, FINGERPRINT_KEY, COOKIE_SECRET } = JSON.parse(process.env.CONFIG);
const file = process.env.AUDIT_FILE;

const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
const urlOf = (server) => `http://127.0.0.1:${server.address().port}`;

const opServer = await listen(createServer());
const rpServer = await listen(createServer());
const issuer = urlOf(opServer);
const rpUrl = urlOf(rpServer);
const redirect_uris = [`${rpUrl}/callback`];

const provider = new Provider(issuer, {
  clients: [
    // express-openid-connect's client, registered (as most are) for the code flow only.
    {
      ...CLIENTS.web,
      redirect_uris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
    },
    // A public client: the provider requires PKCE of it.
    { ...CLIENTS.spa, token_endpoint_auth_method: 'none', redirect_uris, response_types: ['code'] },
    // A client allowed `openid` only: any other scope the provider knows is invalid_scope.
    { ...CLIENTS.narrow, scope: 'openid', redirect_uris, response_types: ['code'] },
  ],
  // `email` made a scope the provider knows (unknown scopes it drops without an error).
  claims: { openid: ['sub'], email: ['email'] },
  cookies: { keys: [COOKIE_SECRET] },
  findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
  features: { devInteractions: { enabled: false } },
});
// One sink instance for both auditors, so the file holds both in the order they were recorded.
const sinks = [fileSink(file)];
const keys = { fingerprint: FINGERPRINT_KEY };
const opAuditor = createAuditor({ service: 'op', sinks, keys, routes: 'oidc-provider' });
provider.use(authtrailKoa({ auditor: opAuditor }));
opServer.on('request', provider.callback());

const rpAuditor = createAuditor({ service: 'rp', sinks, keys });
const rp = express();
rp.use(authtrail({ auditor: rpAuditor }));
// The defaults a newcomer starts from: no authorizationParams at all.
rp.use(
  eoc.auth({
    issuerBaseURL: issuer,
    baseURL: rpUrl,
    clientID: CLIENTS.web.client_id,
    secret: COOKIE_SECRET,
    authRequired: false,
  }),
);
rpServer.on('request', rp);

const control = await listen(
  createServer(async (req, res) => {
    if (req.url !== '/events') return res.writeHead(404).end();
    await Promise.all([opAuditor.flush(), rpAuditor.flush()]);
    res.end(await readFile(file, 'utf8').catch(() => ''));
  }),
);
process.stdout.write(JSON.stringify({ ready: { issuer, rpUrl, control: urlOf(control) } }) + '\n');
process.on('SIGTERM', async () => {
  for (const server of [opServer, rpServer, control]) server.closeAllConnections();
  await Promise.all([opAuditor.close(), rpAuditor.close()]);
  process.exit(0);
});
