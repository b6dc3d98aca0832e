// One process, three servers on 127.0.0.1: an OpenID Provider (oidc-provider), a relying party
// (Express + express-openid-connect) and a bearer-token API (Express + express-oauth2-jwt-bearer).
// The RP and the API are audited by authtrail. Shared by the demo, the examples and the tests.
import { createServer } from 'node:http';
import express from 'express';
import Provider from 'oidc-provider';
import eoc from 'express-openid-connect';
import bearer from 'express-oauth2-jwt-bearer';
import { exportJWK, generateKeyPair } from 'jose';
import { createAuditor } from '@authtrail/core';
import { authtrail } from '@authtrail/express';
import { authtrail as authtrailKoa } from '@authtrail/koa';
import accounts from './accounts.cjs';

const { auth, requiresAuth } = eoc;
const { auth: bearerAuth, requiredScopes } = bearer;

export const {
  USERS,
  RP_CLIENT,
  SHORT_CLIENT,
  CLI_CLIENT,
  MACHINE_CLIENT,
  API_AUDIENCE,
  RP_COOKIE_SECRET,
  OP_COOKIE_KEY,
  AUDIT_FINGERPRINT_KEY,
} = accounts;

function listen(port) {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const page = (title, body) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>` +
  `<style>body{font:16px system-ui;margin:3rem auto;max-width:36rem}input,button{font:inherit;margin:.2rem 0}</style>` +
  `</head><body><h1>${title}</h1>${body}</body></html>`;

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small in-memory storage adapter for oidc-provider (its own one warns that it is for dev only). */
function memoryAdapter() {
  const items = new Map();
  const byGrant = new Map();
  const byUid = new Map();
  const byUserCode = new Map();
  return class DemoAdapter {
    constructor(model) {
      this.model = model;
    }
    key(id) {
      return `${this.model}:${id}`;
    }
    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      items.set(key, { payload, expires: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
      if (payload.grantId)
        byGrant.set(payload.grantId, [...(byGrant.get(payload.grantId) ?? []), key]);
      if (payload.uid) byUid.set(payload.uid, id);
      if (payload.userCode) byUserCode.set(payload.userCode, id);
    }
    async find(id) {
      const item = items.get(this.key(id));
      return item && item.expires > Date.now() ? item.payload : undefined;
    }
    async findByUid(uid) {
      return byUid.has(uid) ? this.find(byUid.get(uid)) : undefined;
    }
    async findByUserCode(code) {
      return byUserCode.has(code) ? this.find(byUserCode.get(code)) : undefined;
    }
    async consume(id) {
      const item = items.get(this.key(id));
      if (item) item.payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id) {
      items.delete(this.key(id));
    }
    async revokeByGrantId(grantId) {
      for (const key of byGrant.get(grantId) ?? []) items.delete(key);
      byGrant.delete(grantId);
    }
  };
}

async function createProvider(issuer, rpUrl) {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = {
    ...(await exportJWK(privateKey)),
    kid: 'demo-signing-key',
    alg: 'RS256',
    use: 'sig',
  };
  const provider = new Provider(issuer, {
    adapter: memoryAdapter(),
    clients: [
      {
        client_id: RP_CLIENT.id,
        client_secret: RP_CLIENT.secret,
        redirect_uris: [`${rpUrl}/callback`],
        post_logout_redirect_uris: [rpUrl, `${rpUrl}/`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      {
        client_id: CLI_CLIENT.id,
        client_secret: CLI_CLIENT.secret,
        redirect_uris: [`${rpUrl}${CLI_CLIENT.callbackPath}`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      {
        client_id: MACHINE_CLIENT.id,
        client_secret: MACHINE_CLIENT.secret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
      },
      {
        client_id: SHORT_CLIENT.id,
        client_secret: SHORT_CLIENT.secret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
      },
    ],
    jwks: { keys: [signingKey] },
    // Rotate refresh tokens on every use, so a replayed one is detected (and its grant revoked).
    rotateRefreshToken: true,
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      // The short-lived client's tokens live one second: for expired-token scenarios.
      ClientCredentials: (_ctx, _token, client) => (client.clientId === SHORT_CLIENT.id ? 1 : 600),
      IdToken: 3600,
      Interaction: 600,
      Session: 86400,
      Grant: 86400,
      RefreshToken: 86400,
    },
    cookies: { keys: [OP_COOKIE_KEY] },
    claims: {
      openid: ['sub'],
      sid: null,
      acr: null,
      auth_time: null,
      profile: ['name', 'roles'],
      email: ['email'],
    },
    conformIdTokenClaims: false,
    findAccount: (_ctx, id) =>
      USERS[id] && {
        accountId: id,
        claims: () => ({
          sub: id,
          name: USERS[id].name,
          email: USERS[id].email,
          roles: USERS[id].roles,
        }),
      },
    extraTokenClaims: (_ctx, token) =>
      token.accountId && USERS[token.accountId]
        ? { roles: USERS[token.accountId].roles }
        : undefined,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        logoutSource: (ctx, form) => {
          ctx.body = page(
            'Sign out of the demo provider?',
            `${form}<button form="op.logoutForm" name="logout" value="yes" type="submit">Yes, sign me out</button>`,
          );
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.body = page('Signed out', '<p>You are signed out of the demo provider.</p>');
        },
      },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Tokens are for the API when an API scope is asked for; otherwise opaque, for userinfo.
        defaultResource: (ctx) =>
          /\bread:items\b/.test(ctx.oidc.params?.scope ?? '') ? API_AUDIENCE : undefined,
        useGrantedResource: () => true,
        // Any resource indicator names an API with these scopes (so a token for another API can be asked for).
        getResourceServerInfo: (_ctx, resource, client) => ({
          scope: 'read:items write:items',
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: client.clientId === SHORT_CLIENT.id ? 1 : 600,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  });
  return provider;
}

function interactionRoutes(provider) {
  const router = express.Router();
  const form = express.urlencoded({ extended: false });

  const loginPage = (uid, error) =>
    page(
      'Sign in to the demo provider',
      (error ? `<p style="color:#b00">${escapeHtml(error)}</p>` : '') +
        `<form method="post" action="/interaction/${uid}/login">` +
        `<label>User <input name="username" value="alice" autocomplete="username"></label><br>` +
        `<label>Password <input name="password" type="password" autocomplete="current-password"></label><br>` +
        `<button type="submit">Sign in</button></form>` +
        `<p>Accounts: alice / ${USERS.alice.password}, bob / ${USERS.bob.password}</p>`,
    );

  router.get('/interaction/:uid', async (req, res, next) => {
    try {
      const { uid, prompt, params } = await provider.interactionDetails(req, res);
      if (prompt.name === 'login') return res.type('html').send(loginPage(uid));
      res
        .type('html')
        .send(
          page(
            'Allow access?',
            `<p><b>${escapeHtml(params.client_id)}</b> asks for: ${escapeHtml(params.scope)}</p>` +
              `<form method="post" action="/interaction/${uid}/confirm"><button type="submit">Allow</button></form>` +
              `<form method="post" action="/interaction/${uid}/abort"><button type="submit">Deny</button></form>`,
          ),
        );
    } catch (err) {
      next(err);
    }
  });

  router.post('/interaction/:uid/login', form, async (req, res, next) => {
    try {
      const { uid } = await provider.interactionDetails(req, res);
      const user = USERS[req.body.username];
      if (!user || user.password !== req.body.password) {
        // The form again, no redirect: the auditor's `signIn` route records authn.login.failure.
        return res.status(200).type('html').send(loginPage(uid, 'Wrong user name or password.'));
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: req.body.username } },
        { mergeWithLastSubmission: false },
      );
    } catch (err) {
      next(err);
    }
  });

  router.post('/interaction/:uid/confirm', async (req, res, next) => {
    try {
      const details = await provider.interactionDetails(req, res);
      const { prompt, params, session, grantId } = details;
      const grant = grantId
        ? await provider.Grant.find(grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const missing = prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const saved = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId: saved } },
        { mergeWithLastSubmission: true },
      );
    } catch (err) {
      next(err);
    }
  });

  router.post('/interaction/:uid/abort', async (req, res, next) => {
    try {
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'The user denied access.' },
        { mergeWithLastSubmission: false },
      );
    } catch (err) {
      next(err);
    }
  });
  return router;
}

/**
 * Starts the demo OpenID Provider alone, with its sign-in and consent pages: its endpoints audited by
 * @authtrail/koa, its pages (the sign-in form) by @authtrail/express, with one auditor. `rpUrl` is
 * the relying party its clients redirect to.
 * @param {object} options
 * @param {string} options.rpUrl
 * @param {import('@authtrail/core').Sink[]} [options.sinks] where its events go (default stdout)
 * @param {{ fingerprint?: string }} [options.keys] authtrail keys (default: the demo's key)
 * @param {import('node:http').Server} [options.server] a listening server to use (else one on `port`)
 * @param {number} [options.port] 0: any free port
 */
export async function startProvider({
  rpUrl,
  sinks,
  keys = { fingerprint: AUDIT_FINGERPRINT_KEY },
  server,
  port = 0,
  onProvider,
}) {
  const opServer = server ?? (await listen(port));
  const issuer = `http://127.0.0.1:${opServer.address().port}`;
  const provider = await createProvider(issuer, rpUrl);
  // One auditor on the provider and on its interaction pages: a failed sign-in at the form is
  // recorded by the `signIn` route, and a later one names the account once that name signed in.
  const auditor = createAuditor({
    service: 'demo-op',
    sinks,
    keys,
    routes: 'oidc-provider',
    signIn: { routes: 'POST /interaction/:uid/login' },
  });
  provider.use(authtrailKoa({ auditor }));
  onProvider?.(provider);
  const op = express();
  op.use(authtrail({ auditor }));
  op.use(interactionRoutes(provider));
  op.use(provider.callback());
  opServer.on('request', op);
  return {
    issuer,
    provider,
    auditor,
    async close() {
      opServer.closeAllConnections();
      await new Promise((resolve) => opServer.close(resolve));
      await auditor.close();
    },
  };
}

/**
 * Starts the provider, the RP and the API.
 * @param {object} options
 * @param {import('@authtrail/core').Sink[]} [options.sinks] where both auditors send events (default stdout)
 * @param {number} [options.port] the RP's port; the provider and the API take the next two (0: any free ports)
 * @param {(session: object) => void} [options.onSession] sees the tokens of each new RP session
 * @param {boolean} [options.companion] mount authtrail.errors() after the RP routes (default true)
 */
export async function startStack({
  sinks,
  port = 0,
  onSession,
  onProvider,
  companion = true,
} = {}) {
  const rpServer = await listen(port);
  const opServer = await listen(port ? port + 1 : 0);
  const apiServer = await listen(port ? port + 2 : 0);
  const rpUrl = `http://127.0.0.1:${rpServer.address().port}`;
  const issuer = `http://127.0.0.1:${opServer.address().port}`;
  const apiUrl = `http://127.0.0.1:${apiServer.address().port}`;

  // --- OpenID Provider -------------------------------------------------------------------------
  // One fingerprint key for every service, so the same token has the same fingerprint in each log.
  const keys = { fingerprint: AUDIT_FINGERPRINT_KEY };
  const {
    provider,
    auditor: opAuditor,
    close: closeOp,
  } = await startProvider({ rpUrl, sinks, keys, server: opServer, onProvider });

  // --- Relying party: one line of authtrail before auth(), one after the routes ---------------
  const rpAuditor = createAuditor({ service: 'demo-rp', sinks, keys });
  const rp = express();
  rp.use(authtrail({ auditor: rpAuditor }));
  rp.use(
    auth({
      issuerBaseURL: issuer,
      baseURL: rpUrl,
      clientID: RP_CLIENT.id,
      clientSecret: RP_CLIENT.secret,
      secret: RP_COOKIE_SECRET,
      authRequired: false,
      idpLogout: true,
      authorizationParams: {
        response_type: 'code',
        scope: 'openid profile email offline_access read:items',
        prompt: 'consent',
      },
      afterCallback: (_req, _res, session) => {
        onSession?.(session);
        return session;
      },
    }),
  );
  rp.get('/', (req, res) => {
    const user = req.oidc.user;
    res
      .type('html')
      .send(
        page(
          'authtrail demo',
          user
            ? `<p>Signed in as <b>${escapeHtml(user.name)}</b> (${escapeHtml(user.sub)}).</p>` +
                `<p><a href="/call-api">Call the API with my access token</a></p><p><a href="/logout">Log out</a></p>`
            : `<p>Not signed in.</p><p><a href="/login">Log in</a></p>`,
        ),
      );
  });
  rp.get('/call-api', requiresAuth(), async (req, res, next) => {
    try {
      const response = await fetch(`${apiUrl}/api/items`, {
        headers: { authorization: `Bearer ${req.oidc.accessToken.access_token}` },
      });
      const body = await response.text();
      res
        .type('html')
        .send(
          page(
            'API answered',
            `<p>Status ${response.status}</p><pre>${escapeHtml(body)}</pre><p><a href="/">Back</a></p>`,
          ),
        );
    } catch (err) {
      next(err);
    }
  });
  if (companion) rp.use(authtrail.errors());
  rp.use((err, _req, res, _next) => {
    res
      .status(err.status ?? 500)
      .type('html')
      .send(
        page(
          'Sign-in failed',
          `<p>${escapeHtml(err.error ?? 'error')}</p><p><a href="/">Home</a></p>`,
        ),
      );
  });
  rpServer.on('request', rp);

  // --- Bearer-token API ------------------------------------------------------------------------
  const apiAuditor = createAuditor({ service: 'demo-api', sinks, keys });
  const api = express();
  api.use(authtrail({ auditor: apiAuditor }));
  api.use(bearerAuth({ issuerBaseURL: issuer, audience: API_AUDIENCE, clockTolerance: 0 }));
  api.get('/api/items', requiredScopes('read:items'), (req, res) => {
    res.json({ items: ['tea', 'cake'], for: req.auth.payload.sub });
  });
  api.get('/api/admin', requiredScopes('admin:all'), (_req, res) => res.json({ secret: 'plans' }));
  // Answer auth errors with their status and RFC 6750 challenge, quietly.
  api.use((err, _req, res, _next) => {
    res
      .status(err.status ?? 500)
      .set(err.headers ?? {})
      .json({ error: err.code ?? 'server_error' });
  });
  apiServer.on('request', api);

  const servers = [rpServer, apiServer];
  return {
    rpUrl,
    issuer,
    apiUrl,
    provider,
    auditors: [opAuditor, rpAuditor, apiAuditor],
    async flush() {
      await Promise.all([opAuditor.flush(), rpAuditor.flush(), apiAuditor.flush()]);
    },
    async close() {
      for (const server of servers) server.closeAllConnections();
      await Promise.all([
        ...servers.map((s) => new Promise((resolve) => s.close(resolve))),
        closeOp(),
      ]);
      await Promise.all([rpAuditor.close(), apiAuditor.close()]);
    },
  };
}
