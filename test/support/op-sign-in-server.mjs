// Child process of test/op-sign-in-form.e2e.test.ts (jest cannot load the ESM-only oidc-provider in
// process): a Koa app with its own sign-in and consent pages (@koa/router) in front of a real
// node-oidc-provider. One auditor watches both: `provider.use(authtrail({ auditor }))` for the
// provider's endpoints, `app.use(authtrail({ auditor }))` for the app's pages, with
// `signIn: { routes: 'POST /interaction/:uid/login' }`. The first stdout line is
// { ready: { issuer, control } }; GET <control>/events flushes and answers with the audit file.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import Koa from 'koa';
import Router from '@koa/router';
import Provider from 'oidc-provider';
import { createAuditor, fileSink } from '@authtrail/core';
import { authtrail } from '@authtrail/koa';

const USERS = JSON.parse(process.env.USERS);
const CLIENT = JSON.parse(process.env.CLIENT);
const file = process.env.AUDIT_FILE;

const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
const urlOf = (server) => `http://127.0.0.1:${server.address().port}`;

const server = await listen(createServer());
const issuer = urlOf(server);
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
      redirect_uris: [CLIENT.redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  cookies: { keys: ['op-sign-in-test-cookie-key-7d1f3a9e5b2c'] },
  findAccount: (_ctx, id) => USERS[id] && { accountId: id, claims: () => ({ sub: id }) },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: { devInteractions: { enabled: false } },
});

const auditor = createAuditor({
  service: 'op-sign-in',
  sinks: [fileSink(file)],
  keys: { fingerprint: process.env.FINGERPRINT_KEY },
  routes: 'oidc-provider',
  signIn: { routes: 'POST /interaction/:uid/login', accountField: 'username' },
});
provider.use(authtrail({ auditor }));

const page = (body) => `<!doctype html><html><body>${body}</body></html>`;
const loginForm = (uid, error) =>
  page(
    (error ? `<p>${error}</p>` : '') +
      `<form method="post" action="/interaction/${uid}/login">` +
      `<input name="username"><input name="password" type="password"><button>Sign in</button></form>`,
  );

/** A urlencoded body as the app's body parser would leave it on `ctx.request.body`. */
async function formBody(ctx, next) {
  let raw = '';
  for await (const chunk of ctx.req) raw += chunk;
  ctx.request.body = Object.fromEntries(new URLSearchParams(raw));
  await next();
}

const router = new Router();
router.get('/interaction/:uid', async (ctx) => {
  const { uid, prompt } = await provider.interactionDetails(ctx.req, ctx.res);
  ctx.type = 'html';
  ctx.body =
    prompt.name === 'login'
      ? loginForm(uid)
      : page(
          `<form method="post" action="/interaction/${uid}/confirm"><button>Allow</button></form>`,
        );
});
router.post('/interaction/:uid/login', formBody, async (ctx) => {
  const { uid } = await provider.interactionDetails(ctx.req, ctx.res);
  const { username, password } = ctx.request.body;
  const user = USERS[username];
  if (!user || user.password !== password) {
    // What a sign-in form does: the form again, with a message. authtrail records the failure.
    ctx.status = process.env.FAIL_STATUS ? Number(process.env.FAIL_STATUS) : 200;
    ctx.type = 'html';
    ctx.body = loginForm(uid, 'Wrong user name or password.');
    return;
  }
  // What only the app knows, recorded in the request: authtrail adds http, source and trace.
  ctx.audit.record({
    type: 'authn.mfa_verify.success',
    observer: { role: 'op' },
    user: { id: username },
  });
  ctx.status = 303;
  ctx.redirect(
    await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: username } }),
  );
});
router.post('/interaction/:uid/confirm', async (ctx) => {
  const { prompt, params, session, grantId } = await provider.interactionDetails(ctx.req, ctx.res);
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope)
    grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  const saved = await grant.save();
  ctx.status = 303;
  ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId: saved } }));
});

const app = new Koa();
app.use(authtrail({ auditor }));
app.use(router.routes());
// Everything else is the provider's, on its own Koa context (so each request is audited once).
const providerCallback = provider.callback();
app.use((ctx) => {
  ctx.respond = false;
  return providerCallback(ctx.req, ctx.res);
});
server.on('request', app.callback());

const control = await listen(
  createServer(async (req, res) => {
    if (req.url !== '/events') return res.writeHead(404).end();
    await auditor.flush();
    res.end(await readFile(file, 'utf8').catch(() => ''));
  }),
);
process.stdout.write(JSON.stringify({ ready: { issuer, control: urlOf(control) } }) + '\n');
process.on('SIGTERM', async () => {
  server.closeAllConnections();
  control.closeAllConnections();
  await auditor.close();
  process.exit(0);
});
