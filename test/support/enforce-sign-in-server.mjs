// Child process of test/enforce-sign-in.e2e.test.ts (jest cannot load the ESM-only oidc-provider in
// process). Two real providers, each audited with detectors({ enforce: { lockout_s: LOCKOUT_S } }):
// - the testbed's (its sign-in form is an Express route with express.urlencoded, `signIn`), audited
//   to AUDIT_FILE;
// - a bare oidc-provider with its own devInteractions form (POST /interaction/:uid, parsed by the
//   provider's selective body parser), audited by @authtrail/koa to AUDIT_FILE.dev. That form
//   takes any password, so it never fails: its lock comes from ten failures recorded the way an
//   app's own login form records them (`record()`), at GET <control>/dev/fail.
// First stdout line: { ready: { issuer, control } }, with `dev` (the second provider's issuer) in
// GET <control>/dev. GET <control>/events flushes and answers the audit file, /dev/events the second one as a JSON string.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createHmac } from 'node:crypto';
import Provider from 'oidc-provider';
import { createAuditor, fileSink } from '@authtrail/core';
import { authtrail as authtrailKoa } from '@authtrail/koa';
import { startProvider, AUDIT_FINGERPRINT_KEY, RP_CLIENT } from '@authtrail/testbed/stack.mjs';
import { detectors } from '@authtrail/detect';

const file = process.env.AUDIT_FILE;
const lockout_s = Number(process.env.LOCKOUT_S);
const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));

const op = await startProvider({
  rpUrl: 'http://127.0.0.1:9',
  sinks: [fileSink(file), detectors({ enforce: { lockout_s } })],
});

// The provider's own login form (devInteractions): its account field is `login`.
const devServer = await listen(createServer());
const devIssuer = `http://127.0.0.1:${devServer.address().port}`;
const dev = new Provider(devIssuer, {
  clients: [
    {
      client_id: RP_CLIENT.id,
      client_secret: RP_CLIENT.secret,
      redirect_uris: ['http://127.0.0.1:9/callback'],
    },
  ],
  findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
});
const devAuditor = createAuditor({
  service: 'dev-op',
  sinks: [fileSink(`${file}.dev`), detectors({ enforce: { lockout_s } })],
  keys: { fingerprint: AUDIT_FINGERPRINT_KEY },
  routes: 'oidc-provider',
  signIn: { routes: 'POST /interaction/:uid', accountField: 'login' },
  delivery: { handleSignals: false },
});
dev.use(authtrailKoa({ auditor: devAuditor }));
devServer.on('request', dev.callback());

const hash = (value) =>
  createHmac('sha256', AUDIT_FINGERPRINT_KEY)
    .update(value)
    .digest()
    .subarray(0, 16)
    .toString('base64url');

const control = await listen(
  createServer(async (req, res) => {
    if (req.url === '/dev') return res.end(JSON.stringify(devIssuer));
    if (req.url === '/dev/fail') {
      // Ten failed sign-ins of alice from 127.0.0.1, as an app's login form records them.
      for (let i = 0; i < 10; i++)
        devAuditor.record({
          type: 'authn.login.failure',
          reason: 'invalid_credentials',
          observer: { role: 'op' },
          user: { hash: hash('alice') },
          source: { ip: '127.0.0.1' },
        });
      return res.end('true');
    }
    if (req.url === '/dev/events') {
      await devAuditor.flush();
      return res.end(JSON.stringify(await readFile(`${file}.dev`, 'utf8').catch(() => '')));
    }
    if (req.url !== '/events') return res.writeHead(404).end();
    await op.auditor.flush();
    res.end(await readFile(file, 'utf8').catch(() => ''));
  }),
);
const controlUrl = `http://127.0.0.1:${control.address().port}`;
process.stdout.write(JSON.stringify({ ready: { issuer: op.issuer, control: controlUrl } }) + '\n');
process.on('SIGTERM', async () => {
  control.closeAllConnections();
  devServer.closeAllConnections();
  devServer.close();
  await devAuditor.close();
  await op.close();
  process.exit(0);
});
