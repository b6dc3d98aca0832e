// Child process of test/passport-rp.e2e.test.ts: the demo OpenID Provider and a relying party built
// the way most Node apps do OIDC after express-openid-connect: a session, Passport and
// openid-client's own Passport strategy (`openid-client/passport`), on the framework FRAMEWORK
// names, audited by that framework's authtrail adapter to AUDIT_FILE:
// - express: express-session + passport;
// - koa: koa-session (an external store) + koa-passport;
// - fastify: @fastify/session (a store) + @fastify/passport.
// Nothing in the app is written for authtrail but the adapter's lines of its README. The three apps
// answer alike (the same routes, redirects and pages). First stdout line:
// { ready: { rpUrl, issuer, control } }. GET <control>/events flushes both auditors and answers
// with the audit file; GET <control>/secrets lists what only this process saw (PKCE verifiers,
// session ids, tokens), for the secret canary.
import { createServer } from 'node:http';
import * as oc from 'openid-client';
import { Strategy } from 'openid-client/passport';
import { createAuditor, fileSink } from '@authtrail/core';
import { startProvider } from '@authtrail/testbed/stack.mjs';
import accounts from '@authtrail/testbed/accounts.cjs';
import { listen, serveControl, urlOf } from './rp-control.mjs';

const { AUDIT_FINGERPRINT_KEY, RP_CLIENT, RP_COOKIE_SECRET } = accounts;

const framework = process.env.FRAMEWORK ?? 'express';
const file = process.env.AUDIT_FILE;
const secrets = new Set([RP_CLIENT.secret, RP_COOKIE_SECRET, AUDIT_FINGERPRINT_KEY]);
const rpServer = await listen(createServer());
const rpUrl = urlOf(rpServer);
const op = await startProvider({ rpUrl, sinks: [fileSink(file)] });

const config = await oc.discovery(new URL(op.issuer), RP_CLIENT.id, RP_CLIENT.secret, undefined, {
  execute: [oc.allowInsecureRequests],
});
const strategy = new Strategy(
  { config, scope: 'openid profile', callbackURL: `${rpUrl}/callback` },
  (tokens, verified) => {
    for (const t of [tokens.access_token, tokens.id_token, tokens.refresh_token])
      if (t) secrets.add(t);
    verified(null, tokens.claims()); // the user is the ID token's claims, as openid-client's docs do
  },
);

/** Feeds the canary from a session store: every session id and PKCE verifier it held. */
function watchSecrets(sid, data) {
  secrets.add(sid);
  for (const value of Object.values(data ?? {}))
    if (typeof value?.code_verifier === 'string') secrets.add(value.code_verifier);
}

const auditor = createAuditor({
  service: 'passport-rp',
  sinks: [fileSink(file)],
  keys: { fingerprint: AUDIT_FINGERPRINT_KEY },
});
const loginOptions = { prompt: 'consent' };
const callbackOptions = { successRedirect: '/', failureRedirect: '/signed-out' };

const apps = {
  async express() {
    const { default: express } = await import('express');
    const { default: session } = await import('express-session');
    const { default: passport } = await import('passport');
    const { authtrail } = await import('@authtrail/express');
    passport.use('oidc', strategy);
    passport.serializeUser((user, done) => done(null, user));
    passport.deserializeUser((user, done) => done(null, user));
    const store = new session.MemoryStore();
    const set = store.set.bind(store);
    store.set = (sid, data, done) => {
      watchSecrets(sid, data);
      set(sid, data, done);
    };
    const app = express();
    app.use(authtrail({ auditor }));
    app.use(session({ store, secret: RP_COOKIE_SECRET, resave: false, saveUninitialized: false }));
    app.use(passport.session());
    app.get('/login', passport.authenticate('oidc', loginOptions));
    app.get('/callback', passport.authenticate('oidc', callbackOptions));
    app.get('/', (req, res) => res.send(req.user ? `hello ${req.user.sub}` : 'signed out'));
    app.get('/signed-out', (_req, res) => res.send('signed out'));
    app.get('/account', (req, res) =>
      req.isAuthenticated()
        ? res.send(`account of ${req.user.sub}`)
        : res.status(401).send('sign in first'),
    );
    app.get('/logout', (req, res, next) =>
      req.logout((err) => (err ? next(err) : res.redirect('/'))),
    );
    app.use(authtrail.errors());
    // The app's own error page: openid-client's errors end here (as a 500), never in the response.
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- Express knows error handlers by their four parameters
    app.use((_err, _req, res, _next) => res.status(500).send('sign-in failed'));
    rpServer.on('request', app);
  },

  async koa() {
    const { default: Koa } = await import('koa');
    const { default: Router } = await import('@koa/router');
    const { default: session } = await import('koa-session');
    const { default: passport } = await import('koa-passport');
    const { authtrail } = await import('@authtrail/koa');
    passport.use('oidc', strategy);
    passport.serializeUser((user, done) => done(null, user));
    passport.deserializeUser((user, done) => done(null, user));
    // An external store: koa-session loads the session in its middleware, after authtrail's ran.
    const sessions = new Map();
    const store = {
      get: async (key) => sessions.get(key),
      set: async (key, data) => {
        watchSecrets(key, data);
        sessions.set(key, data);
      },
      destroy: async (key) => void sessions.delete(key),
    };
    const app = new Koa();
    app.keys = [RP_COOKIE_SECRET];
    app.use(authtrail({ auditor }));
    app.use(session({ key: 'rp.session', store }, app));
    app.use(passport.initialize());
    app.use(passport.session());
    const router = new Router();
    router.get('/login', passport.authenticate('oidc', loginOptions));
    router.get('/callback', passport.authenticate('oidc', callbackOptions));
    router.get('/', (ctx) => {
      ctx.body = ctx.state.user ? `hello ${ctx.state.user.sub}` : 'signed out';
    });
    router.get('/signed-out', (ctx) => {
      ctx.body = 'signed out';
    });
    router.get('/account', (ctx) => {
      if (!ctx.isAuthenticated()) ctx.throw(401, 'sign in first');
      ctx.body = `account of ${ctx.state.user.sub}`;
    });
    router.get('/logout', async (ctx) => {
      await ctx.logout();
      ctx.redirect('/');
    });
    app.use(router.routes());
    app.on('error', () => {}); // Koa's default logs every error: the tests provoke them on purpose
    rpServer.on('request', app.callback());
  },

  async fastify() {
    const { default: Fastify } = await import('fastify');
    const { default: cookie } = await import('@fastify/cookie');
    const { default: session } = await import('@fastify/session');
    const { default: passport } = await import('@fastify/passport');
    const { authtrail } = await import('@authtrail/fastify');
    passport.use('oidc', strategy);
    passport.registerUserSerializer(async (user) => user);
    passport.registerUserDeserializer(async (user) => user);
    const sessions = new Map();
    const store = {
      get: (sid, done) => done(null, sessions.get(sid)),
      set: (sid, data, done) => {
        watchSecrets(sid, data);
        sessions.set(sid, data);
        done();
      },
      destroy: (sid, done) => {
        sessions.delete(sid);
        done();
      },
    };
    // Fastify answers on the server already listening (its URL is the provider's redirect URI).
    const app = Fastify({ serverFactory: (handler) => rpServer.on('request', handler) });
    await app.register(authtrail, { auditor });
    await app.register(cookie);
    await app.register(session, {
      secret: RP_COOKIE_SECRET,
      cookieName: 'rp.session',
      cookie: { secure: false },
      saveUninitialized: false,
      store,
    });
    await app.register(passport.initialize());
    await app.register(passport.secureSession());
    app.get('/login', passport.authenticate('oidc', loginOptions));
    app.get('/callback', passport.authenticate('oidc', callbackOptions));
    app.get('/', async (request) => (request.user ? `hello ${request.user.sub}` : 'signed out'));
    app.get('/signed-out', async () => 'signed out');
    app.get('/account', async (request, reply) =>
      request.isAuthenticated()
        ? `account of ${request.user.sub}`
        : reply.code(401).send('sign in first'),
    );
    app.get('/logout', async (request, reply) => {
      await request.logout();
      return reply.redirect('/');
    });
    // The app's own error page: openid-client's errors end here (as a 500), never in the response.
    app.setErrorHandler((_err, _request, reply) => reply.code(500).send('sign-in failed'));
    await app.ready();
  },
};
await apps[framework]();

await serveControl({
  rpServer,
  rpUrl,
  op,
  auditor,
  file,
  extra: { '/secrets': () => [...secrets] },
});
