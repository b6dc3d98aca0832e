import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import {
  createAuditor,
  elasticsearchBulk,
  fileSink,
  httpSink,
  splunkHec,
  type AuthtrailError,
  type Sink,
} from '@authtrail/core';
import { authtrail } from '@authtrail/express';

const KEYS = { fingerprint: 'errors-test-fingerprint-key-0123456789' };
const CLIENT_SECRET = 'Pq7dK2xW9mZr4TbN8vLc3HyJ6sGf1AeQ5uRo0iEk';
const COOKIE_SECRET = 'vT4kQ9zX1mN7bR3wY8cL2pH6sJ0fD5gAe7Wq2Zx';
/** Sumo Logic and Loggly style: the collector URL's path is the credential. */
const PATH_TOKEN = 'ZaQ1xSw2CdE3vFr4BgT5nHy6MjU7kI8oL9pZaQ1xSw2CdE3v';
const API_KEY = 'Kx9vB2nM4qW7eR1tY5uI8oP3aS6dF0gH';
const PASSWORD = 'hunter2-Pa55word-xyz';

/** The error `create` throws. */
function thrown(create: () => unknown): AuthtrailError {
  try {
    create();
  } catch (error) {
    return error as AuthtrailError;
  }
  throw new Error('expected a throw');
}

/** Fails if `text` holds any 6 consecutive characters of `secret`. */
function expectNothingOf(secret: string, text: string) {
  for (let i = 0; i + 6 <= secret.length; i++) expect(text).not.toContain(secret.slice(i, i + 6));
}

/** Everything an error carries, as a subscriber or a log line would see it. */
const everything = (value: unknown) =>
  [inspect(value, { depth: 10, showHidden: true }), JSON.stringify(value)].join('\n');

describe('option errors show the shape of a value, never the value', () => {
  /** What a user of express-openid-connect has at hand, passed to authtrail whole. */
  const eocConfig = {
    authRequired: false,
    auth0Logout: true,
    baseURL: 'https://app.example.com',
    clientID: 'app-client',
    clientSecret: CLIENT_SECRET,
    issuerBaseURL: 'https://login.example.com',
    secret: COOKIE_SECRET,
    routes: { login: '/login', callback: '/callback' },
  };

  test('an express-openid-connect config given to createAuditor or authtrail() names every unknown option and shows neither secret', () => {
    for (const error of [
      thrown(() => createAuditor(eocConfig as never)),
      thrown(() => authtrail(eocConfig as never)),
    ]) {
      expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
      expect(error.message).toContain(
        `clientSecret }): received a string of ${CLIENT_SECRET.length} characters; unknown option`,
      );
      expect(error.message).toContain(
        `secret }): received a string of ${COOKIE_SECRET.length} characters; unknown option`,
      );
      // URLs show scheme and host: enough to recognise them, never a path or query.
      expect(error.message).toContain(
        'baseURL }): received a URL to https://app.example.com (23 characters); unknown option',
      );
      expectNothingOf(CLIENT_SECRET, everything(error));
      expectNothingOf(COOKIE_SECRET, everything(error));
    }
  });

  test('a mistyped word where one of a few words is expected is shown; a key of the wrong length is only measured', () => {
    const error = thrown(() =>
      createAuditor({
        keys: { fingerprint: 'short-secret', pseudonym: new Uint8Array(8) },
        delivery: { overflow: 'spil' },
        routes: 'express-openid',
        service: PASSWORD.length,
      } as never),
    );
    expect(error.issues.map((i) => `${i.path}: ${i.received}`)).toEqual(
      expect.arrayContaining([
        'createAuditor({ delivery.overflow }): "spil"',
        'createAuditor({ routes }): "express-openid"',
        'createAuditor({ keys.fingerprint }): a string of 12 characters',
        'createAuditor({ keys.pseudonym }): a Uint8Array of 8 bytes',
        'createAuditor({ service }): number 20',
      ]),
    );
    expect(error.message).not.toContain('short-secret');
  });

  test('a secret given where a word is expected is measured, not shown', () => {
    const error = thrown(() =>
      createAuditor({
        delivery: { overflow: API_KEY },
        sinks: [fileSink('x', { fsync: PASSWORD as never })],
      } as never),
    );
    expectNothingOf(API_KEY, everything(error));
    const file = thrown(() => fileSink('audit.jsonl', { fsync: PASSWORD as never }));
    expect(file.message).toContain(`received a string of ${PASSWORD.length} characters`);
    expectNothingOf(PASSWORD, everything(file));
  });

  test('a sink or issuer URL with a token path, an api_key query or user:password shows at most its scheme and host', () => {
    const urls = [
      // malformed (the port is out of range): nothing of it is shown
      `https://collector.example.com:99999/receiver/v1/http/${PATH_TOKEN}?api_key=${API_KEY}`,
      `https://audit:${PASSWORD}@collector.example.com/receiver/v1/http/${PATH_TOKEN}?api_key=${API_KEY}`,
      `ftp://collector.example.com/receiver/v1/http/${PATH_TOKEN}?api_key=${API_KEY}`,
    ];
    const errors = urls.flatMap((url) => [
      thrown(() => httpSink(url)),
      thrown(() => splunkHec(url, { token: 'hec-token' })),
      thrown(() => elasticsearchBulk(url, { index: 'audit' })),
    ]);
    errors.push(
      thrown(() =>
        createAuditor({
          verify: {
            issuer: urls[2],
            audience: 'api',
            jwksUri: `ftp://${PASSWORD}@idp.example.com/jwks`,
          },
        } as never),
      ),
    );
    expect(errors.map((e) => e.code)).toEqual(Array(10).fill('ERR_AUTHTRAIL_INVALID_OPTIONS'));
    expect(errors[9]!.message).toContain(
      'createAuditor({ verify.issuer }): received a URL to ftp://collector.example.com',
    );
    for (const error of errors) {
      const text = everything(error);
      for (const secret of [PATH_TOKEN, API_KEY, PASSWORD]) expectNothingOf(secret, text);
    }
  });
});

describe('sink errors carry no URL path, query or credential', () => {
  let server: Server;
  let origin: string;
  beforeAll(async () => {
    // A collector that refuses everything, and says so in a body that repeats what it was sent.
    server = createServer((req, res) => res.writeHead(401).end(`denied: ${req.url}`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test('authtrail:sink-error payloads and the errors in them name the sink and the origin only', async () => {
    const sinks: Sink[] = [
      httpSink(`${origin}/receiver/v1/http/${PATH_TOKEN}?api_key=${API_KEY}`),
      splunkHec(`${origin}/${PATH_TOKEN}/services/collector/event?api_key=${API_KEY}`, {
        token: 'hec-token-0000',
      }),
      elasticsearchBulk(`${origin}/${PATH_TOKEN}?api_key=${API_KEY}`, { index: 'audit' }),
    ];
    const published: unknown[] = [];
    const listener = (message: unknown) => published.push(message);
    subscribe('authtrail:sink-error', listener);
    try {
      for (const sink of sinks) {
        const auditor = createAuditor({
          sinks: [sink],
          keys: KEYS,
          delivery: { retries: 0, handleSignals: false },
        });
        auditor.record({ type: 'app.export.success' });
        await auditor.flush();
        await auditor.close();
      }
    } finally {
      unsubscribe('authtrail:sink-error', listener);
    }
    const errors = published.map((p) => (p as { error: AuthtrailError & { url: string } }).error);
    expect(errors.map((e) => [e.code, e.message, e.url])).toEqual([
      ['ERR_AUTHTRAIL_SINK_WRITE', `http: POST ${origin} answered 401`, origin],
      ['ERR_AUTHTRAIL_SINK_WRITE', `splunk-hec: POST ${origin} answered 401`, origin],
      ['ERR_AUTHTRAIL_SINK_WRITE', `elasticsearch: POST ${origin} answered 401`, origin],
    ]);
    for (const payload of published) {
      const text = everything(payload) + (payload as { error: Error }).error.stack;
      expectNothingOf(PATH_TOKEN, text);
      expectNothingOf(API_KEY, text);
      expect(text).not.toContain('receiver');
    }
  });
});
