// How a relying party's own session layer is read: the `user` option, Passport-style profiles,
// the order a callback is judged in, refused pages and the PKCE flow id (observe.ts, node/session.ts).
import { createHash } from 'node:crypto';
import {
  createAuditor,
  keepTransactionOnAssign,
  memorySink,
  sessionFacts,
  TRANSACTION_KEY,
  type AuditEvent,
  type AuthtrailOptions,
  type KeptTransaction,
  type RequestFacts,
} from '@authtrail/core';

const KEY = 'fingerprint-key-for-tests-0123456789';
const PSEUDONYM = 'pseudonym-key-for-tests-0123456789ab';

function facts(
  over: Partial<RequestFacts> & { responseHeaders?: Record<string, string> } = {},
): RequestFacts {
  const { responseHeaders = {}, ...rest } = over;
  return {
    startTime: Date.now(),
    durationMs: 1,
    method: 'GET',
    url: '/callback?code=c',
    status: 302,
    headers: {},
    response: { getHeader: (name: string) => responseHeaders[name] },
    ...rest,
  };
}

async function observe(
  list: RequestFacts[],
  options: AuthtrailOptions = {},
): Promise<{ events: AuditEvent[]; errors: number }> {
  const sink = memorySink();
  const auditor = createAuditor({ sinks: [sink], keys: { fingerprint: KEY }, ...options });
  for (const f of list) auditor.attach('core').observe(f);
  await auditor.flush();
  const { errors } = auditor.stats();
  await auditor.close();
  return { events: sink.events, errors };
}

describe('the user option', () => {
  test('refuses a user option that is not a function, naming the option', () => {
    expect(() => createAuditor({ sinks: [memorySink()], user: 'alice' as never })).toThrow(
      expect.objectContaining({
        code: 'ERR_AUTHTRAIL_INVALID_OPTIONS',
        message: expect.stringMatching(/user/),
      }),
    );
  });

  test("is given the framework's request and names the user, and with ID token claims the client, issuer and session", async () => {
    const request = {
      session: { claims: { sub: 'alice', aud: 'web', iss: 'https://op', sid: 's-1' } },
    };
    const seen: unknown[] = [];
    const { events } = await observe([facts({ request, session: 'store' })], {
      user: (req: typeof request) => {
        seen.push(req);
        return req.session.claims;
      },
    });
    expect(seen).toEqual([request]);
    expect(events[0]).toMatchObject({
      type: 'authn.login.success',
      observer: { role: 'rp' },
      user: { id: 'alice' },
      client: { id: 'web' },
      oauth: { issuer: 'https://op' },
    });
    expect(events[0]!.session?.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  test('takes a subject string, and judges a callback that signed nobody in a failure', async () => {
    let who: string | undefined = 'u-7';
    const { events } = await observe([facts()], { user: () => who });
    expect(events[0]).toMatchObject({ type: 'authn.login.success', user: { id: 'u-7' } });
    who = undefined;
    const { events: none } = await observe([facts()], { user: () => who });
    expect(none[0]).toMatchObject({ type: 'authn.login.failure', reason: 'missing_transaction' });
  });

  test('fails open when the getter throws: no event, one counted error, nothing thrown', async () => {
    const { events, errors } = await observe([facts()], {
      user: () => {
        throw new Error('session store down');
      },
    });
    expect(events).toEqual([]);
    expect(errors).toBe(1);
  });
});

describe("Passport's req.user", () => {
  // A number (as some Passport profiles have it) that no event id, time or hash can contain by
  // chance (a bare 42 can: the event's id and time).
  const profile = {
    id: 987654321,
    displayName: 'Alice L',
    emails: [{ value: 'alice@example.com' }],
  };

  test('reads a normalised profile by its id, with name and e-mail only under profile: true', async () => {
    const { events } = await observe([facts({ user: profile, session: 'user' })]);
    expect(events[0]!.user).toEqual({ id: '987654321' });
    const { events: full } = await observe([facts({ user: profile, session: 'user' })], {
      profile: true,
    });
    expect(full[0]!.user).toEqual({ id: '987654321', name: 'Alice L', email: 'alice@example.com' });
  });

  test('logs only the keyed hash of the user under pseudonymize, the same hash a manual event gets', async () => {
    const sink = memorySink();
    const auditor = createAuditor({
      sinks: [sink],
      keys: { fingerprint: KEY, pseudonym: PSEUDONYM },
      pseudonymize: true,
    });
    auditor.attach('core').observe(facts({ user: profile, session: 'user' }));
    auditor.record({ type: 'authn.mfa_verify.success', user: { id: '987654321' } });
    await auditor.close();
    const [login, manual] = sink.events as [AuditEvent, AuditEvent];
    expect(login.user).toEqual({ hash: manual.user!.hash });
    expect(login.user!.hash).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(JSON.stringify(login)).not.toMatch(/987654321|Alice|alice@/);
  });
});

describe('the order a callback is judged in', () => {
  test("names the provider's error first, even when the library found no transaction", async () => {
    const { events } = await observe([
      facts({
        url: '/callback?error=access_denied&state=s',
        transactionFound: false,
        session: 'user',
      }),
    ]);
    expect(events[0]).toMatchObject({
      type: 'authn.login.failure',
      reason: 'idp_error',
      error: { code: 'access_denied' },
    });
  });

  test('counts a redirect that signed nobody in as a failure only where a layer tells who signed in', async () => {
    const { events } = await observe([
      facts({ session: 'user', transactionFound: true }),
      facts({ session: 'store' }),
      facts(),
    ]);
    expect(events.map((e) => [e.type, e.reason])).toEqual([
      ['authn.login.failure', 'unknown'], // the transaction was there: not missing_transaction
      ['authn.login.success', undefined], // a session store alone says nothing of who signed in
      ['authn.login.success', undefined],
    ]);
  });
});

describe("the relying party's own pages", () => {
  test('logs a 401 without any attempt from an app with a session as authn.session.failure by rp, and a 403 as forbidden', async () => {
    const { events } = await observe([
      facts({ url: '/account', status: 401, session: 'store' }),
      facts({ url: '/admin', status: 403, session: 'user', user: { sub: 'bob' } }),
    ]);
    expect(events).toMatchObject([
      { type: 'authn.session.failure', observer: { role: 'rp' }, reason: 'session_missing' },
      { type: 'authn.session.failure', reason: 'forbidden', user: { id: 'bob' } },
    ]);
  });

  test("keeps an API's refusal an api.authn.failure by rs: a Bearer challenge, any Authorization header, or no session layer", async () => {
    const { events } = await observe([
      facts({
        url: '/api/items',
        status: 401,
        session: 'store',
        responseHeaders: { 'www-authenticate': 'Bearer realm="api"' },
      }),
      facts({
        url: '/api/items',
        status: 401,
        session: 'store',
        headers: { authorization: 'Basic eDp5' },
      }),
      facts({ url: '/api/items', status: 401 }),
    ]);
    expect(events.map((e) => [e.type, e.observer.role, e.reason])).toEqual([
      ['api.authn.failure', 'rs', 'token_missing'],
      ['api.authn.failure', 'rs', 'token_missing'],
      ['api.authn.failure', 'rs', 'token_missing'],
    ]);
  });
});

describe('the flow id of a login sent with PKCE alone', () => {
  const verifier = 'verifier-0123456789-0123456789-0123456789-abc';
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const start = (method: string) =>
    facts({
      url: '/login',
      responseHeaders: {
        location: `https://op.example/auth?client_id=web&response_type=code&code_challenge=${challenge}&code_challenge_method=${method}`,
      },
    });

  test("is the S256 challenge's keyed hash at the start and the verifier's, found in the session, at the callback", async () => {
    const req: Record<PropertyKey, unknown> = {};
    keepTransactionOnAssign(req);
    req.session = { 'op.example': { code_verifier: verifier } }; // as express-session loads it
    req.session = {}; // Passport's regenerate() at login: the first session counts
    const kept = req[TRANSACTION_KEY] as KeptTransaction;
    expect(kept).toEqual({ found: true, flow: challenge });
    const session = sessionFacts(req, 'callback', 302, { sub: 'alice' })!;
    expect(session).toMatchObject({
      transactionFound: true,
      session: 'store',
      user: { sub: 'alice' },
    });
    const { events } = await observe([
      start('S256'),
      facts({
        transactionFound: session.transactionFound,
        flowKey: session.flowKey,
        user: session.user,
      }),
      start('plain'),
    ]);
    expect(events[0]!.flow?.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(events[1]!.flow).toEqual(events[0]!.flow);
    expect(events[2]!.flow).toBeUndefined(); // a plain challenge is the verifier itself
    expect(JSON.stringify(events)).not.toContain(challenge);
  });

  test('notes a session without a transaction as missing where Passport runs, so the callback is missing_transaction', async () => {
    const req: Record<PropertyKey, unknown> = { isAuthenticated: () => false };
    keepTransactionOnAssign(req);
    req.session = { cookie: {}, passport: { user: 'x' } };
    const session = sessionFacts(req, 'callback', 302, undefined)!;
    expect(session.transactionFound).toBe(false);
    const { events } = await observe([facts({ transactionFound: session.transactionFound })]);
    expect(events[0]).toMatchObject({ type: 'authn.login.failure', reason: 'missing_transaction' });
  });

  test('claims nothing of a session store alone that holds no transaction: a hand-made RP may keep its own elsewhere', () => {
    const req: Record<PropertyKey, unknown> = {};
    keepTransactionOnAssign(req);
    req.session = { login: { verifier: 'v', nonce: 'n' } }; // its own shape, not openid-client's
    expect(sessionFacts(req, 'callback', 302, undefined)).toMatchObject({
      session: 'store',
      transactionFound: undefined,
      flowKey: undefined,
    });
  });

  test('keeps a transaction found once: a placeholder session before the loaded one (@fastify/session), and the one regenerated after', () => {
    const req: Record<PropertyKey, unknown> = { session: null, isAuthenticated: () => true };
    keepTransactionOnAssign(req);
    req.session = {}; // @fastify/session's first assignment, before its store answers
    expect((req[TRANSACTION_KEY] as KeptTransaction).found).toBe(false);
    req.session = { 'op.example': { code_verifier: verifier } };
    req.session = { passport: 'alice' };
    expect(req[TRANSACTION_KEY]).toEqual({ found: true, flow: challenge });
    // A session a plugin assigned before the watch began is looked at at once.
    const early: Record<PropertyKey, unknown> = { session: { x: { code_verifier: verifier } } };
    keepTransactionOnAssign(early);
    expect(early[TRANSACTION_KEY]).toEqual({ found: true, flow: challenge });
    expect(early.session).toEqual({ x: { code_verifier: verifier } });
  });

  test("reads koa-session's inherited getter only when the app does, and passes assignments through", () => {
    // koa-session defines `session` on app.context; with an external store its middleware loads
    // the session, and a read before that would make an empty one: authtrail never reads first.
    let loaded: Record<string, unknown> | null = null;
    let reads = 0;
    const context = {};
    Object.defineProperty(context, 'session', {
      get() {
        reads++;
        return loaded ?? {};
      },
      set(value: Record<string, unknown> | null) {
        loaded = value;
      },
    });
    const ctx = Object.create(context) as Record<PropertyKey, unknown>;
    keepTransactionOnAssign(ctx);
    expect(reads).toBe(0);
    expect(ctx[TRANSACTION_KEY]).toBeUndefined();
    expect(ctx.session).toEqual({}); // an app reading too early sees what it would have seen
    loaded = { 'op.example': { code_verifier: verifier } }; // the store answered
    const session = ctx.session as Record<string, unknown>;
    delete session['op.example']; // openid-client's strategy consumes it
    expect(ctx[TRANSACTION_KEY]).toEqual({ found: true, flow: challenge });
    ctx.session = null; // the app signs out: koa-session's setter gets it
    expect(loaded).toBeNull();
    expect(reads).toBe(2);
  });
});
