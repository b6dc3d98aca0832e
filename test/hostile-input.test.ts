// Hostile input, generated. Every adapter (Express, Koa, Fastify) runs a real server on 127.0.0.1:0
// with authtrail in front of two routes (`/public` answers 200, `/private` answers 401 without a
// bearer token) and takes at least 10,000 fast-check generated requests over real HTTP: node:http
// with a keep-alive agent for what a client library can send, raw `net` sockets for the bytes it
// refuses (CR, LF, NUL and other controls, non-ASCII request targets, unknown methods). Tokens are
// JWTs with `__proto__` keys, 1000-deep nesting, odd claim types, invalid UTF-8, up to 2 MB; headers
// are up to 64 KB, unicode, obs-text. Per adapter this asserts:
// - nothing escapes: no uncaughtException / unhandledRejection, no app error, `stats().errors` 0;
// - the app answers as its routes define, every time (and the server keeps serving); what Node's
//   parser refuses gets its 400, paths Fastify's router refuses its FST_ERR_BAD_URL 400, and a
//   request a raw CR/LF split in two may get any answer of the app;
// - one event per audited request (at most one more per split request), each valid schema 1;
// - each JSON line is at most LINE_BOUND bytes (derived below from core's limits);
// - no decoded string holds a C0/C1 control, U+2028/2029 or a lone surrogate;
// - no secret sent (token, signature segment, cookie values, authorization values, a token in a
//   path segment: a JWT, percent-encoded or not, a matrix parameter, a fragment) is in the bytes.
// Manual events (`auditor.record()`, what app code hands over) get the same properties through a
// real auditor into a real file sink: MANUAL_RUNS * MANUAL_BATCH generated events of huge, deep,
// wide and odd JS values, `__proto__`-like keys with control characters, long strings, lone
// surrogates, and the secret in `http.path` / `route` / `query` and in `user` (pseudonymised).
// Reproduce a failure with HOSTILE_SEED=<seed> (fast-check prints the seed and the path).
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, request as httpRequest, Agent, METHODS, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import express, { type ErrorRequestHandler } from 'express';
import Koa from 'koa';
import Router from '@koa/router';
import Fastify from 'fastify';
import {
  Reasons,
  auditErrorChannel,
  createAuditor,
  fileSink,
  memorySink,
  type Auditor,
  type MemorySink,
} from '@authtrail/core';
import { authtrail as expressAuthtrail } from '@authtrail/express';
// Internal (in neither entry of @authtrail/core): the header parser, from source.
import { bearerToken } from '../packages/core/src/token/inspect.js';
import { authtrail as koaAuthtrail } from '@authtrail/koa';
import { authtrail as fastifyAuthtrail } from '@authtrail/fastify';

const RUNS = 100; // batches per adapter
const BATCH = 100; // requests per batch: RUNS * BATCH = 10,000 requests per adapter
const SEED = process.env.HOSTILE_SEED ? Number(process.env.HOSTILE_SEED) : Date.now() % 2 ** 31;
const MAX_HEADER_SIZE = 4 * 1024 * 1024; // the servers accept 1 MB tokens and 64 KB headers
const KEY = 'hostile-input-fingerprint-key-0123456789';

// ---------------------------------------------------------------------------------------------
// The bound on one event line, from the limits in core (options.ts `limits`, and the fixed caps in
// observe.ts / redact.ts). Maximum UTF-16 code units per field:
const MAX_STRING = 512; // limits.maxStringLength default
const FIELD_UNITS = {
  'http.request_id': 128,
  'http.method': 16,
  'http.route': 256,
  'http.path': 1024,
  'http.query': 1024, // redactQuery: names 64, allow-listed values 256, whole query 1024
  'source.ip': 64,
  'source.forwarded': 8 * 64, // 8 addresses of 64
  'source.user_agent': MAX_STRING,
  'user.id': 256,
  'user.name': MAX_STRING, // only with `profile`
  'user.email': MAX_STRING, // only with `profile`
  'user.roles': 50 * 128,
  'client.id': 256,
  'oauth.issuer': MAX_STRING,
  'oauth.scope': 100 * 128,
  'oauth.audience': 20 * 256,
  'oauth.token.alg': 32,
  'error.code': 64,
};
const LIST_ITEMS = 8 + 50 + 100 + 20; // forwarded, roles, scope, audience: `"",` each
// After clean() a code unit costs at most 3 bytes of JSON: controls (6-byte \u00XX escapes) are
// stripped and lone surrogates (6-byte \udXXX escapes) replaced by U+FFFD; `"` and `\` take 2, any
// other BMP character at most 3 in UTF-8, a surrogate pair 4 for its 2 units.
const BYTES_PER_UNIT = 3;
// Everything else is fixed or short: keys, punctuation, schema, id, time, type, outcome, reason,
// observer (service 'hostile', hostname/pid, adapter), fingerprint, hashes, status, duration,
// trace, expires_at.
const FIXED_BYTES = 2048;
const LINE_BOUND =
  BYTES_PER_UNIT * Object.values(FIELD_UNITS).reduce((a, b) => a + b, 0) +
  3 * LIST_ITEMS +
  FIXED_BYTES; // 92,582 bytes

// ---------------------------------------------------------------------------------------------
// Generators. Every header value, path and method is a byte string: one char per byte (latin1),
// which is how Node writes and reads them on the wire.

/** UTF-8 bytes of a JS string, as a byte string. Lone surrogates become EF BF BD. */
const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
const b64url = (bytes: string) => Buffer.from(bytes, 'latin1').toString('base64url');
const pct = (bytes: string) =>
  bytes.replace(
    /[^A-Za-z0-9._~-]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase(),
  );
const byteIn = (min: number, max: number) =>
  fc.integer({ min, max }).map((c) => String.fromCharCode(c));

/** 18 unbiased random bytes: a secret nothing else in a request can contain by chance. */
const canary = fc
  .noBias(fc.uint8Array({ minLength: 18, maxLength: 18 }))
  .map((b) => 'cn' + Buffer.from(b).toString('base64url'));

const SPECIALS = [
  '"',
  '\\',
  "'",
  '<script>alert(1)</script>',
  '${jndi:ldap://x/a}',
  '%00',
  '%0d%0a',
  '../../',
  '\t',
  ' ',
  ',',
  ';',
  '=',
  '{"__proto__":{"polluted":"yes"}}',
  ...['\u2028', '\u2029', '\u202e', '\u0085', '\ufeff', '\u200b', '\u{1f600}', 'é'].map(utf8),
];
/** Bytes no HTTP client library sends in a header value; injected into some requests, raw. */
const CONTROLS = [
  '\r\n',
  '\r',
  '\n',
  '\0',
  '\x1b[31m',
  '\x7f',
  '\x08',
  '\x0b',
  '\r\n X-Inj',
  '\r\n\r\n',
];
// eslint-disable-next-line no-control-regex
const sendable = (bytes: string) => bytes.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '');

/**
 * A piece of hostile text a client can send in a header: printable ASCII, any unicode as UTF-8
 * (C1 controls included: their UTF-8 bytes are obs-text), invalid UTF-8, specials.
 */
const piece = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }).map(utf8) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).map((s) => sendable(utf8(s))),
  },
  { weight: 2, arbitrary: fc.string({ unit: byteIn(0x80, 0xff), maxLength: 8 }) },
  { weight: 3, arbitrary: fc.constantFrom(...SPECIALS) },
);
const text = fc.array(piece, { maxLength: 5 }).map((p) => p.join(''));
/** A very long header value: 16 to 64 KB, sometimes of two-byte or multi-byte characters. */
const huge = fc
  .tuple(
    fc.constantFrom('A', 'é', '\u{1f600}', '\u2028', '"'),
    fc.integer({ min: 4096, max: 16384 }),
  )
  .map(([c, n]) => utf8(c.repeat(n)).slice(0, 65536));
const headerValue = fc.oneof({ weight: 100, arbitrary: text }, { weight: 1, arbitrary: huge });

// JSON text, written by hand so it can hold what JSON.stringify never writes (duplicate and
// `__proto__` keys, 1e400, 1000-deep nesting).
const DEEP_OBJECT = '{"a":'.repeat(1000) + '1' + '}'.repeat(1000);
const DEEP_ARRAY = '['.repeat(1000) + ']'.repeat(1000);
const jsonString = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '"\\u0000\\u001b[2J\\u0085\\u2028\\u2029\\u009b"',
      '"\\ud800"',
      '"x\\udfffy"',
      '"\\ud83d"',
      '"\\"\\\\"',
      '"\\u202eevil"',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 600, max: 9000 }).map((n) => `"${'s'.repeat(n)}"`) },
);
const jsonScalar = fc.oneof(
  jsonString,
  fc.constantFrom(
    'null',
    'true',
    'false',
    '0',
    '-0',
    '1e400',
    '-1e400',
    '1.7976931348623157e308',
    '8640000001',
    '-8640000001',
    '8640000000',
    '1.5',
    '1700000000',
    '4102444800',
    '"1700000000"',
    '"NaN"',
    '"Infinity"',
    '""',
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
);
const KEYS = [
  'sub',
  'scope',
  'scp',
  'aud',
  'exp',
  'nbf',
  'iat',
  'iss',
  'roles',
  'client_id',
  'azp',
  'cid',
  'name',
  'email',
  'sid',
  'nonce',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
];
const jsonKey = fc.oneof(fc.constantFrom(...KEYS.map((k) => JSON.stringify(k))), jsonString);
const jsonValue: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'json' },
    { weight: 4, arbitrary: jsonScalar },
    {
      weight: 1,
      arbitrary: fc.array(tie('value'), { maxLength: 4 }).map((a) => `[${a.join(',')}]`),
    },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.tuple(jsonKey, tie('value')), { maxLength: 4 })
        .map((e) => `{${e.map(([k, v]) => `${k}:${v}`).join(',')}}`),
    },
    { weight: 1, arbitrary: fc.constantFrom(DEEP_OBJECT, DEEP_ARRAY) },
  ),
})).value;
/** Odd values for list claims (scope, aud, roles): every type, long strings, many items. */
const listClaim = fc.oneof(
  jsonValue,
  fc.constantFrom(
    JSON.stringify(Array(2000).fill('s').join(' ')),
    JSON.stringify(' '.repeat(3000)),
    JSON.stringify('a'.repeat(12000)),
    JSON.stringify(Array(1000).fill('x')),
    JSON.stringify(Array(300).fill('y'.repeat(40))),
    '[{},{"a":1},[],null,1]',
    '{"0":"a","length":1}',
    '["a",1,null,"b\\u0000c",{"toString":"x"}]',
  ),
);
const claimEntry = fc.oneof(
  fc.tuple(fc.constantFrom('"scope"', '"scp"', '"aud"', '"roles"'), listClaim),
  fc.tuple(fc.constantFrom('"exp"', '"nbf"'), jsonScalar),
  fc.tuple(jsonKey, jsonValue),
);
const PROTO_PAYLOADS = [
  '{"__proto__":{"polluted":"yes","sub":"admin","scope":"admin"},"sub":"u1"}',
  '{"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"}}',
  '{"__proto__":null,"constructor":null,"scope":{"__proto__":{"polluted":"yes"}}}',
];
/** JWT payload bytes: claims, proto-polluting keys, non-objects, broken JSON, invalid UTF-8. */
const payload = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .array(claimEntry, { maxLength: 8 })
      .map((e) => utf8(`{${e.map(([k, v]) => `${k}:${v}`).join(',')}}`)),
  },
  { weight: 2, arbitrary: fc.constantFrom(...PROTO_PAYLOADS, DEEP_OBJECT) },
  { weight: 1, arbitrary: fc.constantFrom('[1]', '"x"', 'null', '1', '{', '{"sub":"a"', '') },
  {
    // invalid UTF-8 inside (or around) a claim
    weight: 2,
    arbitrary: fc
      .tuple(fc.string({ unit: byteIn(0x80, 0xff), minLength: 1, maxLength: 6 }), fc.boolean())
      .map(([bad, inside]) =>
        inside ? `{"sub":"a${bad}b","scope":"r${bad}"}` : `{"sub":"a"}${bad}`,
      ),
  },
);
const jwtHeader = fc.oneof(
  fc.constantFrom(
    '{"alg":"RS256","typ":"at+jwt","kid":"k1"}',
    '{"alg":"none"}',
    '{"alg":123}',
    '{"alg":"\\u0000RS256\\u001b"}',
    `{"alg":"${'A'.repeat(300)}"}`,
    '{"__proto__":{"alg":"none"}}',
  ),
  payload,
);
/** A segment encoded some way a token might be: base64url, base64 with padding, or raw bytes. */
const segment = (bytes: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 8, arbitrary: bytes.map(b64url) },
    { weight: 1, arbitrary: bytes.map((b) => Buffer.from(b, 'latin1').toString('base64')) },
    { weight: 1, arbitrary: text },
  );

interface Sent {
  value: string;
  secrets: string[];
}

/** A bearer token (or something trying to be one); `c` is its secret part. */
const ordinaryToken = (c: string): fc.Arbitrary<Sent> =>
  fc.oneof(
    {
      weight: 10,
      arbitrary: fc.tuple(segment(jwtHeader), segment(payload)).map(([h, p]) => {
        const t = `${h}.${p}.${c}`;
        return { value: t, secrets: [t, c] };
      }),
    },
    { weight: 2, arbitrary: fc.constant<Sent>({ value: c, secrets: [c] }) },
    { weight: 1, arbitrary: fc.constant<Sent>({ value: `eyJ.${c}.a.b.c`, secrets: [c] }) }, // JWE shape
    {
      weight: 3,
      arbitrary: fc
        .tuple(text, text, fc.constantFrom('.', '..', '', ' ', '...', '='))
        .map(([a, b, sep]) => ({ value: `${a}${sep}${c}${sep}${b}`, secrets: [c] })),
    },
    {
      // over maxTokenLength: never decoded
      weight: 1,
      arbitrary: fc
        .integer({ min: 16_385, max: 40_000 })
        .map((n) => ({ value: `${'A'.repeat(n)}.eyJ9.${c}`, secrets: [c] })),
    },
  );

/** 1 MB and 2 MB of claims: about one token in a thousand, a few per adapter. */
const megabyteToken = (c: string): fc.Arbitrary<Sent> =>
  fc.constantFrom(1, 2).map((n) => {
    const t = `${b64url('{"alg":"RS256"}')}.${b64url(`{"sub":"${'x'.repeat(n << 20)}"}`)}.${c}`;
    return { value: t, secrets: [c] };
  });
const token = (c: string): fc.Arbitrary<Sent> =>
  fc.oneof(
    { weight: 999, arbitrary: ordinaryToken(c) },
    { weight: 1, arbitrary: megabyteToken(c) },
  );

const authorization = (c: string): fc.Arbitrary<Sent> =>
  fc
    .tuple(
      fc.oneof(
        { weight: 10, arbitrary: fc.constant('Bearer ') },
        {
          weight: 3,
          arbitrary: fc.constantFrom(
            'bearer ',
            'BEARER   ',
            'Bearer\t',
            ' Bearer ',
            'Bearer',
            'Basic ',
            'DPoP ',
            'Bearer,',
            '',
          ),
        },
      ),
      token(c),
    )
    .map(([scheme, t]) => ({ value: scheme + t.value, secrets: [...t.secrets, scheme + t.value] }));

/** Cookies: a session id, express-openid-connect's transaction cookie (nonce, state, PKCE verifier), junk. */
const cookie = (c: string): fc.Arbitrary<Sent> =>
  fc
    .tuple(
      fc.oneof(
        fc.constant(JSON.stringify({ nonce: `n${c}`, state: `s${c}`, code_verifier: `v${c}` })),
        jsonValue.map(utf8),
        text,
      ),
      fc.boolean(),
      text,
    )
    .map(([tx, encode, junk]) => {
      const value = `sid=${c}; auth_verification=${encode ? encodeURIComponent(tx) : tx}.sig${c}; ${junk}`;
      return { value, secrets: [c, value] };
    });

const hex = (n: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
const traceparent = fc.oneof(
  fc.tuple(hex(32), hex(16)).map(([t, s]) => `00-${t}-${s}-01`),
  fc.tuple(hex(32), hex(16)).map(([t, s]) => `00-${t.toUpperCase()}-${s}-01`),
  fc.tuple(hex(31), hex(17), text).map(([t, s, x]) => `00-${t}-${s}-01${x}`),
  fc.tuple(hex(32), hex(16), text).map(([t, s, x]) => `${x}00-${t}-${s}-01`),
  text,
);
const forwardedFor = fc.oneof(
  fc
    .tuple(
      fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), text), { maxLength: 12 }),
      fc.constantFrom(',', ', ', ' , ', ',,', ';'),
    )
    .map(([ips, sep]) => ips.join(sep)),
  fc.constantFrom(', '.repeat(5000), '1.1.1.1,'.repeat(3000), 'unknown', '_hidden', '[::1]:80'),
  text,
);

const queryPair = (c: string) =>
  fc.oneof(
    fc.tuple(fc.constantFrom('code', 'state', 'id_token_hint', 'logout_token'), fc.constant(c)),
    fc.tuple(fc.constantFrom('error', 'error_description', 'x'), text.map(pct)),
    fc.tuple(text.map(pct), text.map(pct)),
    fc.tuple(fc.constantFrom('%zz', '%', '+', '%E0%A4%A', '%F0%9F%98%80', '%ff%fe'), text.map(pct)),
  );
const query = (c: string) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant('') },
    {
      weight: 7,
      arbitrary: fc
        .array(queryPair(c), { maxLength: 6 })
        .map((pairs) => '?' + pairs.map(([n, v]) => `${n}=${v}`).join('&')),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('?' + 'a=1&'.repeat(2000), '?&&&==&', '?' + '%'.repeat(3000)),
    },
  );
const pathSegment = fc.oneof(
  { weight: 6, arbitrary: text.map(pct) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '..',
      '.',
      '',
      '%',
      '%zz',
      '%2F',
      '%00',
      '%C0%AE',
      '%ff',
      ';a=b',
      '#x',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 8000 }).map((n) => 'p'.repeat(n)) },
);
/**
 * A path segment carrying the secret `c` as credentials sit in paths: a reset-link JWT (as sent and
 * percent-encoded), a servlet session id as a matrix parameter, a token in a fragment sent in the
 * request line (which takes the rest of the path and the query with it).
 */
const pctJwt = (s: string) => s.replace(/[eJ.]/g, (ch) => `%${ch.charCodeAt(0).toString(16)}`);
const JWT_HEAD = `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url('{"sub":"u1"}')}`;
const secretSegment = (c: string) =>
  fc.constantFrom(
    `${JWT_HEAD}.${c}`,
    pctJwt(`${JWT_HEAD}.${c}`),
    `app;jsessionid=${c}`,
    `x;a=1;${c}`,
    `cb#access_token=${c}&state=s`,
  );
const target = (c: string) =>
  fc
    .oneof(
      { weight: 5, arbitrary: fc.tuple(fc.constantFrom('/public', '/private'), query(c)) },
      {
        weight: 2,
        arbitrary: fc.tuple(
          fc.constantFrom('/login', '/callback', '/logout', '/backchannel-logout', '/CALLBACK/'),
          query(c),
        ),
      },
      {
        weight: 3,
        arbitrary: fc.tuple(
          fc.array(pathSegment, { minLength: 1, maxLength: 6 }).map((s) => '/h/' + s.join('/')),
          query(c),
        ),
      },
      {
        weight: 2,
        arbitrary: fc.tuple(
          fc
            .tuple(
              fc.array(pathSegment, { maxLength: 3 }),
              secretSegment(c),
              fc.array(pathSegment, { maxLength: 2 }),
            )
            .map(([before, secret, after]) => '/h/' + [...before, secret, ...after].join('/')),
          query(c),
        ),
      },
    )
    .map(([p, q]) => p + q);
const method = fc.oneof(
  { weight: 12, arbitrary: fc.constant('GET') },
  {
    weight: 4,
    arbitrary: fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE'),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'PROPFIND',
      'PURGE',
      'SEARCH',
      'MKCOL',
      'LOCK',
      'REPORT',
      'M-SEARCH',
      'SOURCE',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('FOO', 'get', 'BREW', 'X'.repeat(300), 'G\xe9T', 'GE T', 'GET\0'),
  },
);
/** Raw bytes for about one request in ten: where (a header, the target), what, and at which offset. */
const injection = fc.oneof(
  { weight: 9, arbitrary: fc.constant(undefined) },
  {
    weight: 1,
    arbitrary: fc.record({
      into: fc.nat(),
      bytes: fc.oneof(
        fc.constantFrom(...CONTROLS),
        text.map((t) => ` ${t}\xff`),
      ),
      at: fc.nat(),
    }),
  },
);

/** One generated request. Printed short in fast-check reports (values can be megabytes). */
class HostileRequest {
  constructor(
    readonly method: string,
    readonly target: string,
    readonly headers: [string, string][],
    readonly secrets: string[],
  ) {}
  header(name: string): string | undefined {
    return this.headers.find(([n]) => n === name)?.[1];
  }
  [fc.toStringMethod](): string {
    const short = (s: string) =>
      JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}...(${s.length} chars)` : s);
    const headers = this.headers.map(([n, v]) => `${n}: ${short(v)}`).join(', ');
    return `${short(this.method)} ${short(this.target)} {${headers}}`;
  }
}

const hostileRequest = fc.tuple(canary, canary, canary).chain(([a, b, c]) =>
  fc
    .record(
      {
        method,
        target: target(c),
        authorization: authorization(a),
        cookie: cookie(b),
        userAgent: headerValue,
        requestIds: fc.array(headerValue, { minLength: 1, maxLength: 2 }),
        forwardedFor,
        traceparent,
        other: headerValue,
        inject: injection,
      },
      { requiredKeys: ['method', 'target'] },
    )
    .map((r) => {
      const headers: [string, string][] = [];
      const secrets: string[] = [];
      if (r.authorization) {
        headers.push(['authorization', r.authorization.value]);
        secrets.push(...r.authorization.secrets);
      }
      if (r.cookie) {
        headers.push(['cookie', r.cookie.value]);
        secrets.push(...r.cookie.secrets);
      }
      // The target's secret, also as the percent-encoded path segment carries it.
      secrets.push(c, pctJwt(c));
      if (r.userAgent !== undefined) headers.push(['user-agent', r.userAgent]);
      for (const id of r.requestIds ?? []) headers.push(['x-request-id', id]);
      if (r.forwardedFor !== undefined) headers.push(['x-forwarded-for', r.forwardedFor]);
      if (r.traceparent !== undefined) headers.push(['traceparent', r.traceparent]);
      if (r.other !== undefined) headers.push(['x-hostile', r.other]);
      let path = r.target;
      if (r.inject) {
        const { into, bytes, at } = r.inject;
        const splice = (v: string) =>
          v.slice(0, at % (v.length + 1)) + bytes + v.slice(at % (v.length + 1));
        const h = headers[into % (headers.length + 1)];
        if (h) h[1] = splice(h[1]);
        else path = splice(path.slice(1)).replace(/^/, '/');
      }
      return new HostileRequest(r.method, path, headers, secrets);
    }),
);

// ---------------------------------------------------------------------------------------------
// What the apps answer, and what the test expects of them.

type AdapterName = 'express' | 'koa' | 'fastify';

/** How the test apps decide a request carries a token (Node has trimmed the value's SP/HTAB). */
const hasBearer = (v: string | undefined) => v !== undefined && /^bearer +[^ \t]/i.test(v);
const challenge = (v: string | undefined) =>
  `Bearer realm="hostile"${v === undefined ? '' : ', error="invalid_token"'}`;
const nodeTrim = (v: string | undefined) => v?.replace(/^[ \t]+|[ \t]+$/g, '');

const KNOWN_METHODS = new Set(METHODS);
/** Fastify 5's own methods; it answers others 404. */
const FASTIFY_METHODS = new Set([
  'GET',
  'HEAD',
  'TRACE',
  'DELETE',
  'OPTIONS',
  'PATCH',
  'PUT',
  'POST',
  'QUERY',
]);
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Whether Node's HTTP parser takes the request at all (else it answers 400 by itself). */
function parserAccepts(r: HostileRequest): boolean {
  return (
    KNOWN_METHODS.has(r.method) &&
    r.method !== 'CONNECT' &&
    /^[\x21-\x7e]+$/.test(r.target) &&
    r.headers.every(([, v]) => HEADER_VALUE.test(v))
  );
}

/**
 * A CR or LF sent raw can end a header line or the whole head early, so the server may see another
 * request than the one generated (an injected header, a second request on the connection). Such
 * requests may get any answer the apps give, and at most one event.
 */
const splits = (r: HostileRequest) =>
  /[\r\n]/.test(r.target) || r.headers.some(([, v]) => /[\r\n]/.test(v));

interface Expected {
  /** The answer the app gives, or undefined for a split request (any answer). */
  status: number | undefined;
  /** The request reached authtrail and is an auth event: exactly one event. */
  event: boolean;
}

function expected(adapter: AdapterName, r: HostileRequest, auditor: Auditor): Expected {
  if (splits(r)) return { status: undefined, event: false };
  if (!parserAccepts(r)) return { status: 400, event: false };
  const path = r.target.split('?', 1)[0];
  const auth = nodeTrim(r.header('authorization'));
  let status = 404;
  if (adapter !== 'fastify' || FASTIFY_METHODS.has(r.method)) {
    if (path === '/public') status = 200;
    else if (path === '/private') status = hasBearer(auth) ? 200 : 401;
  }
  const event =
    auditor.attach(adapter).routeKind(r.target) !== undefined ||
    bearerToken(auth) !== undefined ||
    status === 401 ||
    status === 403;
  return { status, event };
}

/**
 * Fastify refuses some percent-encoded paths itself (FST_ERR_BAD_URL, by find-my-way's decodeURI
 * rules), before any hook runs: that answer is the framework's, and authtrail never sees the request.
 */
const fastifyRefused = (adapter: AdapterName, r: HostileRequest, answer: Answer) =>
  adapter === 'fastify' &&
  r.target.split('?', 1)[0]!.includes('%') &&
  answer.status === 400 &&
  (r.method === 'HEAD' ? answer.body === '' : answer.body.includes('FST_ERR_BAD_URL'));

// ---------------------------------------------------------------------------------------------
// The three apps.

interface App {
  name: AdapterName;
  port: number;
  auditor: Auditor;
  sink: MemorySink;
  /** Errors the framework caught from the app or from authtrail's middleware. */
  errors: unknown[];
  close(): Promise<void>;
}

function auditorFor() {
  const sink = memorySink();
  const auditor = createAuditor({
    sinks: [sink],
    keys: { fingerprint: KEY },
    service: 'hostile',
    delivery: { handleSignals: false },
  });
  return { sink, auditor };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

async function startExpress(): Promise<App> {
  const { sink, auditor } = auditorFor();
  const errors: unknown[] = [];
  const app = express();
  app.use(expressAuthtrail({ auditor }));
  app.all('/public', (_req, res) => void res.json({ ok: true }));
  app.all('/private', (req, res) => {
    const auth = req.headers.authorization;
    if (hasBearer(auth)) return void res.json({ ok: true });
    res.status(401).set('www-authenticate', challenge(auth)).json({ error: 'unauthorized' });
  });
  app.use((_req, res) => void res.status(404).json({ error: 'not_found' }));
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- Express knows error handlers by arity
  app.use(((err, _req, res, _next) => {
    errors.push(err);
    res.status(500).json({ error: 'server_error' });
  }) as ErrorRequestHandler);
  const server = createServer({ maxHeaderSize: MAX_HEADER_SIZE }, app);
  const port = await listen(server);
  return { name: 'express', port, auditor, sink, errors, close: () => closeServer(server) };
}

async function startKoa(): Promise<App> {
  const { sink, auditor } = auditorFor();
  const errors: unknown[] = [];
  const app = new Koa();
  app.on('error', (err) => errors.push(err));
  app.use(koaAuthtrail({ auditor }));
  const router = new Router();
  router.all('/public', (ctx) => void (ctx.body = { ok: true }));
  router.all('/private', (ctx) => {
    const auth = ctx.get('authorization') || undefined;
    if (hasBearer(auth)) return void (ctx.body = { ok: true });
    ctx.status = 401;
    ctx.set('www-authenticate', challenge(auth));
    ctx.body = { error: 'unauthorized' };
  });
  app.use(router.routes());
  const server = createServer({ maxHeaderSize: MAX_HEADER_SIZE }, app.callback());
  const port = await listen(server);
  return { name: 'koa', port, auditor, sink, errors, close: () => closeServer(server) };
}

async function startFastify(): Promise<App> {
  const { sink, auditor } = auditorFor();
  const errors: unknown[] = [];
  const app = Fastify({
    serverFactory: (handler) => createServer({ maxHeaderSize: MAX_HEADER_SIZE }, handler),
  });
  await app.register(fastifyAuthtrail, { auditor });
  app.all('/public', async () => ({ ok: true }));
  app.all('/private', async (request, reply) => {
    const auth = request.headers.authorization;
    if (hasBearer(auth)) return { ok: true };
    return reply
      .code(401)
      .header('www-authenticate', challenge(auth))
      .send({ error: 'unauthorized' });
  });
  app.setErrorHandler((err, _request, reply) => {
    errors.push(err);
    return reply.code(500).send({ error: 'server_error' });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return { name: 'fastify', port, auditor, sink, errors, close: () => app.close() };
}

// ---------------------------------------------------------------------------------------------
// Transport: node:http with a keep-alive agent, or a raw socket for what a client refuses to send.

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** The status and the first bytes of the body. */
interface Answer {
  status: number;
  body: string;
}

function viaHttp(port: number, r: HostileRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // An array of headers (duplicates kept) means node:http adds no Host header of its own.
    const headers = ['host', `127.0.0.1:${port}`, ...r.headers.flat(), 'content-length', '0'];
    const req = httpRequest(
      { host: '127.0.0.1', port, method: r.method, path: r.target, headers, agent },
      (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (c: string) => void (body.length < 512 && (body += c)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Writes the bytes as they are and reads the status line; one connection per request. */
function viaSocket(port: number, r: HostileRequest): Promise<Answer> {
  const head =
    `${r.method} ${r.target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    r.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('') +
    'Content-Length: 0\r\nConnection: close\r\n\r\n';
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    // Node destroys a connection whose bytes it refused, maybe before it read them all: writing
    // the rest then fails (EPIPE), and the reset may even drop its 400 (status 0, see runBatch).
    socket.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err),
    );
    socket.on('close', () => {
      const response = Buffer.concat(chunks).toString('latin1', 0, 1024);
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(response);
      resolve({
        status: m ? Number(m[1]) : 0,
        body: response.slice(response.indexOf('\r\n\r\n') + 4),
      });
    });
    socket.end(Buffer.from(head, 'latin1'));
  });
}

const send = (port: number, r: HostileRequest) =>
  parserAccepts(r) ? viaHttp(port, r) : viaSocket(port, r);

// ---------------------------------------------------------------------------------------------
// Schema 1, checked by hand: required fields and their types, nothing else.

type Check = (v: unknown, at: string) => string[];
const ok: string[] = [];
const str: Check = (v, at) => (typeof v === 'string' ? ok : [`${at} is not a string`]);
const match =
  (re: RegExp): Check =>
  (v, at) =>
    typeof v === 'string' && re.test(v) ? ok : [`${at} ${JSON.stringify(v)} does not match ${re}`];
const oneOf =
  (values: Iterable<unknown>): Check =>
  (v, at) =>
    new Set(values).has(v) ? ok : [`${at} ${JSON.stringify(v)} is not an allowed value`];
const int: Check = (v, at) => (Number.isInteger(v) ? ok : [`${at} is not an integer`]);
const duration: Check = (v, at) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? ok : [`${at} is not a duration`];
const bool: Check = (v, at) => (typeof v === 'boolean' ? ok : [`${at} is not a boolean`]);
const list =
  (item: Check): Check =>
  (v, at) =>
    Array.isArray(v) ? v.flatMap((x, i) => item(x, `${at}[${i}]`)) : [`${at} is not an array`];
const obj =
  (required: Record<string, Check>, optional: Record<string, Check> = {}): Check =>
  (v, at) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return [`${at} is not an object`];
    const o = v as Record<string, unknown>;
    const problems: string[] = [];
    for (const [k, check] of Object.entries(required)) {
      if (!(k in o)) problems.push(`${at}.${k} is missing`);
      else problems.push(...check(o[k], `${at}.${k}`));
    }
    for (const k of Object.keys(o)) {
      if (k in required) continue;
      const check = optional[k];
      if (!check) problems.push(`${at}.${k} is not in schema 1`);
      else problems.push(...check(o[k], `${at}.${k}`));
    }
    return problems;
  };

const ISO = /^(?:[+-]\d{6}|\d{4})-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const HASH = /^[A-Za-z0-9_-]{22}$/; // keyed HMAC-SHA-256, 128 bits, base64url
const TYPE = /^[a-z][a-z0-9_]{0,63}\.[a-z][a-z0-9_]{0,63}\.(success|failure|detected)$/;
const schema1 = obj(
  {
    schema: oneOf([1]),
    id: match(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
    time: match(ISO),
    type: match(TYPE),
    outcome: oneOf(['success', 'failure', 'detected']),
    observer: obj({
      role: oneOf(['rp', 'op', 'rs']),
      service: oneOf(['hostile']),
      instance: str,
      adapter: oneOf(['express', 'koa', 'fastify']),
    }),
  },
  {
    reason: oneOf(Object.values(Reasons)),
    error: obj({ code: match(/^[a-z][a-z0-9_]{1,63}$/) }),
    user: obj({}, { id: str, hash: match(HASH), name: str, email: str, roles: list(str) }),
    client: obj({ id: str }),
    oauth: obj(
      {},
      {
        issuer: str,
        scope: list(str),
        audience: list(str),
        grant_type: str,
        token: obj(
          { type: str, fingerprint: match(HASH), verified: bool },
          { expires_at: match(ISO), alg: str, active: bool },
        ),
      },
    ),
    session: obj({ id: match(HASH) }),
    flow: obj({ id: match(HASH) }),
    http: obj(
      { method: str, path: str, status: int, duration_ms: duration },
      { request_id: str, route: str, query: str },
    ),
    source: obj({}, { ip: str, forwarded: list(str), user_agent: str }),
    trace: obj({ id: match(/^[0-9a-f]{32}$/), span_id: match(/^[0-9a-f]{16}$/) }),
  },
);

function schemaProblems(event: unknown): string[] {
  const problems = schema1(event, 'event');
  const e = event as { type?: unknown; outcome?: unknown };
  if (typeof e.type === 'string' && e.type.slice(e.type.lastIndexOf('.') + 1) !== e.outcome)
    problems.push(`event.outcome ${String(e.outcome)} is not the outcome of ${e.type}`);
  return problems;
}

// C0, DEL, C1, the Unicode line separators; and UTF-16 surrogates without their other half.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Every string (keys included) in a decoded event, with where it is. */
function* strings(value: unknown, at = 'event'): Generator<[string, string]> {
  if (typeof value === 'string') yield [at, value];
  else if (Array.isArray(value))
    for (const [i, v] of value.entries()) yield* strings(v, `${at}[${i}]`);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      yield [`${at} (key)`, k];
      yield* strings(v, `${at}.${k}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The property.

const escaped: unknown[] = [];
const onEscape = (err: unknown) => void escaped.push(err);
const auditErrors: unknown[] = [];
const onAuditError = (message: unknown) =>
  void auditErrors.push((message as { error: unknown }).error);
const apps: App[] = [];
const observed = {
  requests: 0,
  events: 0,
  maxLine: 0,
  viaSocket: 0,
  refused: 0,
  reset: 0,
  big: 0,
  huge: 0,
  manualEvents: 0,
  maxManualLine: 0,
};

beforeAll(async () => {
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
  auditErrorChannel.subscribe(onAuditError);
  apps.push(await startExpress(), await startKoa(), await startFastify());
});

afterAll(async () => {
  for (const app of apps) {
    await app.close();
    await app.auditor.close();
  }
  agent.destroy();
  auditErrorChannel.unsubscribe(onAuditError);
  process.off('uncaughtException', onEscape);
  process.off('unhandledRejection', onEscape);
});

const short = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}...(${s.length} chars)` : s);
const why = (err: unknown) => (err instanceof Error ? (err.stack ?? err.message) : String(err));

/** Waits until the auditor has the events the batch should give (they follow the response). */
async function settle(app: App, count: number, stragglers: boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (app.sink.events.length < count && Date.now() < deadline) {
    await app.auditor.flush();
    await new Promise((r) => setTimeout(r, 2));
  }
  // A split request's second half is answered while its connection closes: give it a moment.
  if (stragglers) await new Promise((r) => setTimeout(r, 20));
  await app.auditor.flush();
}

/** Client parse errors (HPE_*): Koa reports them through app.on('error') when a socket breaks. */
const appError = (err: unknown) => !String((err as { code?: unknown })?.code).startsWith('HPE_');
const APP_STATUSES = new Set([200, 400, 401, 404]);

async function runBatch(app: App, batch: HostileRequest[]): Promise<void> {
  app.sink.clear(); // the batch before settled, stragglers included
  app.errors.length = 0;
  const want = batch.map((r) => expected(app.name, r, app.auditor));
  const answers = await Promise.all(batch.map((r) => send(app.port, r)));
  observed.requests += batch.length;
  observed.viaSocket += batch.filter((r) => !parserAccepts(r)).length;
  for (const r of batch) {
    const longest = Math.max(0, ...r.headers.map(([, v]) => v.length));
    if (longest >= 16_384) observed.big++;
    if (longest >= 1 << 20) observed.huge++;
  }

  const failures: string[] = [];
  let count = 0;
  batch.forEach((r, i) => {
    const { status, body } = answers[i]!;
    const w = want[i]!;
    if (w.status === undefined) {
      if (!APP_STATUSES.has(status)) failures.push(`answered ${status}: ${r[fc.toStringMethod]()}`);
    } else if (fastifyRefused(app.name, r, answers[i]!)) {
      observed.refused++;
    } else if (status === 0 && w.status === 400 && !parserAccepts(r)) {
      observed.reset++; // refused by Node's parser, its 400 lost to the reset
    } else if (status !== w.status) {
      failures.push(
        `answered ${status} ${JSON.stringify(body.slice(0, 200))} instead of ${w.status}: ${r[fc.toStringMethod]()}`,
      );
    } else if (w.event) count++;
  });
  const split = batch.filter(splits).length;
  await settle(app, count, split > 0);

  if (escaped.length > 0) failures.push(`escaped: ${escaped.map(why).join('\n')}`);
  if (auditErrors.length > 0 || app.auditor.stats().errors > 0)
    failures.push(
      `stats().errors ${app.auditor.stats().errors}: ${auditErrors.map(why).join('\n')}`,
    );
  const errors = app.errors.filter(appError);
  if (errors.length > 0) failures.push(`app errors: ${errors.map(why).join('\n')}`);
  const events = app.sink.events.length;
  if (events < count || events > count + split)
    failures.push(`${events} events for ${count} audited requests (and ${split} split ones)`);

  const text = app.sink.text();
  const lines = text.split('\n');
  if (lines.pop() !== '') failures.push('the last line does not end in a newline');
  for (const line of lines) {
    const bytes = Buffer.byteLength(line) + 1;
    observed.maxLine = Math.max(observed.maxLine, bytes);
    if (bytes > LINE_BOUND) failures.push(`a line of ${bytes} bytes: ${short(line)}`);
    const event: unknown = JSON.parse(line);
    for (const p of schemaProblems(event)) failures.push(`${p}: ${short(line)}`);
    for (const [at, s] of strings(event)) {
      if (CONTROL.test(s))
        failures.push(`${at} holds a control character: ${JSON.stringify(short(s))}`);
      if (LONE_SURROGATE.test(s))
        failures.push(`${at} holds a lone surrogate: ${JSON.stringify(short(s))}`);
    }
  }
  observed.events += lines.length;

  const bytes = Buffer.from(text);
  for (const r of batch) {
    for (const secret of r.secrets) {
      // As decoded by Node (latin1) and re-encoded in the log, and as the bytes sent.
      if (text.includes(secret) || bytes.includes(Buffer.from(secret, 'latin1')))
        failures.push(`a secret reached the sink: ${short(secret)} from ${r[fc.toStringMethod]()}`);
    }
  }
  if (failures.length > 0) throw new Error(`${app.name}:\n${failures.slice(0, 20).join('\n')}`);
}

/** A batch prints as its size: the error's cause lists the requests that failed, shortened. */
const batchOf = fc
  .array(hostileRequest, { minLength: BATCH, maxLength: BATCH })
  .map((requests) =>
    Object.assign(requests, { [fc.toStringMethod]: () => `${requests.length} requests` }),
  );

describe.each(['express', 'koa', 'fastify'] as const)('hostile input through %s', (name) => {
  test(`${RUNS * BATCH} generated requests: nothing escapes, every answer as routed, every event valid, bounded, clean and free of secrets`, async () => {
    const app = apps.find((a) => a.name === name)!;
    const before = observed.requests;
    await fc.assert(
      fc.asyncProperty(batchOf, (batch) => runBatch(app, batch)),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    expect(observed.requests - before).toBeGreaterThanOrEqual(10_000);
    // The server is still serving after all of it.
    expect(await viaHttp(app.port, new HostileRequest('GET', '/public', [], []))).toEqual({
      status: 200,
      body: '{"ok":true}',
    });
    expect(app.auditor.stats()).toMatchObject({ errors: 0, dropped: 0 });
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// Manual events: what app code passes to record(), as hostile as a JS caller can make it.

const MANUAL_RUNS = 40; // batches
const MANUAL_BATCH = 10; // events per batch: 400 manual events
const PSEUDONYM_KEY = 'hostile-input-pseudonym-key-0123456789ab';
/** Bounds of a manual event's plain data (manual-event.ts; docs/events.md, Hostile input). */
const MANUAL = { depth: 5, keys: 50, items: 100, keyLength: 64, stringLength: MAX_STRING };

/** Defines own enumerable properties as given: `__proto__` becomes a key, not the prototype. */
function ownKeys(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries)
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}
const LONG = 'x'.repeat(MAX_STRING);
/** Built once: values far past every bound (wide, deep, long, multi-byte). */
const HUGE: readonly unknown[] = (() => {
  const tree = (depth: number): unknown =>
    depth === 0 ? LONG : ownKeys(Array.from({ length: 12 }, (_, i) => [`k${i}`, tree(depth - 1)]));
  let deep: unknown = 'bottom';
  for (let i = 0; i < 2000; i++) deep = { a: deep, b: [deep] };
  return [
    tree(5), // 12^5 strings of 512 characters
    deep, // 2000 levels
    ownKeys(Array.from({ length: 5000 }, (_, i) => [`key-${i}-${'k'.repeat(100)}`, LONG])),
    Array.from({ length: 200_000 }, (_, i) => (i % 2 ? LONG : { i })),
    '\u{1f600}'.repeat(500_000), // 4 bytes of UTF-8 each
    '\u2028\u0000\ud800'.repeat(100_000),
    'é'.repeat(2_000_000),
  ];
})();
/** Keys that reach a prototype as they are, or once their control characters are removed. */
const PROTO_KEYS = [
  '__proto__',
  '__proto__\u0007',
  '\u0000__proto__',
  '__pro\u001bto__',
  '__proto__\u2028',
  '__proto__\u200e',
  'constructor\u0085',
  '\u009bprototype',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '',
];
const manualString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '\u0000\u001b[2J\u0085\u2028\u2029\u009b',
      '\ud800',
      'x\udfffy',
      '\ud83d',
      '\u202eevil',
      '\u001b[32mOK\u001b[0m',
      '"\\',
      '{"__proto__":{"polluted":"yes"}}',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 500, max: 20_000 }).map((n) => 'é\u2028'.repeat(n)) },
);
const manualKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...PROTO_KEYS) },
  { weight: 3, arbitrary: manualString },
  { weight: 1, arbitrary: fc.integer({ min: 65, max: 5000 }).map((n) => 'K'.repeat(n)) },
);
const manualScalar = fc.oneof(
  { weight: 4, arbitrary: manualString },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(
      null,
      undefined,
      true,
      NaN,
      Infinity,
      -Infinity,
      -0,
      1e308,
      10n,
      Symbol('s'),
      () => 'fn',
      new Date(0),
      new Map([['polluted', 'yes']]),
      Object.create(null) as unknown,
      JSON.parse('{"__proto__":{"polluted":"yes"}}') as unknown,
    ),
  },
  { weight: 1, arbitrary: fc.double() },
);
const manualValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { maxDepth: 4, depthIdentifier: 'manual' },
    { weight: 4, arbitrary: manualScalar },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 5 }) },
    {
      weight: 2,
      arbitrary: fc.array(fc.tuple(manualKey, tie('value')), { maxLength: 5 }).map(ownKeys),
    },
    { weight: 1, arbitrary: fc.constantFrom(...HUGE) },
  ),
})).value;

/**
 * A path the app logs with the secret `c` in it, after hostile segments, in a segment of its own:
 * a JWT, a matrix parameter, a fragment (see secretSegment), a query left in the path, or an e-mail
 * address (redacted when pseudonymising).
 */
const manualPath = (c: string) =>
  fc
    .tuple(
      fc.array(fc.oneof(manualString, fc.constantFrom('..', '%2F', '%zz', 'users')), {
        maxLength: 3,
      }),
      fc.oneof(secretSegment(c), fc.constantFrom(`${c}@example.com`, `x?access_token=${c}`)),
    )
    .map(([junk, secret]) => ['', ...junk.map((j) => j.replaceAll('/', '')), secret].join('/'));
/**
 * What app code passes to record(): typed fields with hostile values and, about one time in ten,
 * fields the auditor sets (refused, see OWN_FIELDS), carrying the secret too.
 */
const manualInput = (c: string) =>
  fc
    .tuple(
      appFields(c),
      fc.oneof(
        { arbitrary: fc.constant({}), weight: 9 },
        { arbitrary: auditorFields(c), weight: 1 },
      ),
    )
    .map(([app, own]) => ({ ...app, ...own }));
/** The fields record() refuses: the auditor sets them itself. */
const OWN_FIELDS = ['schema', 'id', 'time', 'outcome', 'seq', 'chain', 'delivery'];
const auditorFields = (c: string) =>
  fc.record(
    {
      schema: fc.constantFrom<unknown>(2, c),
      id: fc.constant(c),
      time: fc.constant(c),
      outcome: fc.constant('success'),
      seq: manualValue,
      chain: manualValue,
      delivery: manualValue,
    },
    { requiredKeys: [] },
  );
const appFields = (c: string) =>
  fc.record(
    {
      type: fc.constantFrom('app.hostile_input.success', 'authn.login.failure', 'x.y.detected'),
      observer: fc.oneof(
        fc.constant(undefined),
        fc.record({ role: fc.constantFrom<unknown>('op', 'rp', 'rs', 'admin', 7) }),
        manualValue,
      ),
      reason: fc.oneof(manualString, manualValue),
      error: fc.oneof(fc.record({ code: manualString }), manualValue),
      // pseudonymize: the subject only as its hash; without `profile` no name or e-mail.
      user: fc.oneof(
        fc.record(
          {
            id: fc.constantFrom(c, `${c}@example.com`),
            name: fc.constant(c),
            email: fc.constant(`${c}@example.com`),
            password: fc.constant(c),
            roles: fc.oneof(fc.array(manualString, { maxLength: 5 }), manualValue),
          },
          { requiredKeys: ['id'] },
        ),
        manualValue,
      ),
      client: manualValue,
      oauth: manualValue,
      session: manualValue,
      flow: manualValue,
      http: fc.record(
        {
          path: manualPath(c),
          route: manualPath(c),
          query: fc.constantFrom(`access_token=${c}&error=x`, `?code=${c}`, `state=${c}`),
          method: manualString,
          status: manualValue,
          more: manualValue,
        },
        { requiredKeys: ['path'] },
      ),
      source: manualValue,
      trace: manualValue,
    },
    { requiredKeys: ['type', 'http'] },
  );
/** A batch of manual events with their secrets; prints as its size (values can be megabytes). */
const manualBatch = fc
  .array(
    canary.chain((c) => manualInput(c).map((input) => ({ input, secret: c }))),
    { minLength: MANUAL_BATCH, maxLength: MANUAL_BATCH },
  )
  .map((batch) =>
    Object.assign(batch, { [fc.toStringMethod]: () => `${batch.length} manual events` }),
  );

/** The problems of a field's value as plain data within the manual bounds. */
function plainProblems(v: unknown, at: string, depth = 1): string[] {
  if (typeof v === 'string')
    return v.length > MANUAL.stringLength ? [`${at} has ${v.length} characters`] : ok;
  if (typeof v === 'number') return Number.isFinite(v) ? ok : [`${at} is ${v}`];
  if (typeof v === 'boolean') return ok;
  if (v === null || typeof v !== 'object') return [`${at} is not plain data`];
  if (depth > MANUAL.depth) return [`${at} is nested deeper than ${MANUAL.depth} levels`];
  if (Array.isArray(v)) {
    if (v.length > MANUAL.items) return [`${at} has ${v.length} items`];
    return v.flatMap((x, i) => plainProblems(x, `${at}[${i}]`, depth + 1));
  }
  const keys = Object.keys(v);
  if (keys.length > MANUAL.keys) return [`${at} has ${keys.length} keys`];
  return keys.flatMap((k) => [
    ...(k.length > MANUAL.keyLength ? [`${at} has a key of ${k.length} characters`] : ok),
    ...plainProblems((v as Record<string, unknown>)[k], `${at}.${k}`, depth + 1),
  ]);
}
const plain: Check = (v, at) => plainProblems(v, at);
/**
 * Schema 1 for a manual event: the fields every event has, `user` built as a request's is, the
 * redacted `http` strings; the app's other fields are plain data (docs/frameworks.md, Recording
 * from a route).
 */
const manualSchema = obj(
  {
    schema: oneOf([1]),
    id: match(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
    time: match(ISO),
    type: match(TYPE),
    outcome: oneOf(['success', 'failure', 'detected']),
    observer: obj({
      role: oneOf(['rp', 'op', 'rs']),
      service: oneOf(['hostile']),
      instance: str,
      adapter: oneOf(['core']),
    }),
  },
  {
    ...Object.fromEntries(
      ['reason', 'error', 'client', 'oauth', 'session', 'flow', 'source', 'trace'].map((k) => [
        k,
        plain,
      ]),
    ),
    user: obj({}, { hash: match(HASH), roles: list(str) }),
    http: (v, at) =>
      plain(v, at).concat(
        obj({}, { path: str, route: str, query: str, method: plain, status: plain, more: plain })(
          v,
          at,
        ),
      ),
  },
);

/** Every object of a value whose prototype is not Object's or Array's (a replaced prototype). */
function* oddPrototypes(value: unknown, at = 'event'): Generator<string> {
  if (value === null || typeof value !== 'object') return;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== Array.prototype) yield at;
  for (const [k, v] of Object.entries(value)) yield* oddPrototypes(v, `${at}.${k}`);
}
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

describe('hostile manual events through record()', () => {
  test(`${MANUAL_RUNS * MANUAL_BATCH} generated manual events into a real file: only those setting what the auditor sets are refused, every event valid, bounded, clean, no prototype reached, no secret`, async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'authtrail-hostile-manual-')), 'audit.jsonl');
    const auditor = createAuditor({
      sinks: [fileSink(path)],
      keys: { fingerprint: KEY, pseudonym: PSEUDONYM_KEY },
      pseudonymize: true,
      service: 'hostile',
      delivery: { handleSignals: false },
    });
    let offset = 0;
    let events = 0;
    let refused = 0;
    try {
      await fc.assert(
        fc.asyncProperty(manualBatch, async (batch) => {
          const failures: string[] = [];
          let recorded = 0;
          for (const { input, secret } of batch) {
            const own = OWN_FIELDS.filter(
              (k) => (input as Record<string, unknown>)[k] !== undefined,
            );
            let event: unknown;
            try {
              event = auditor.record(input as never);
              recorded++;
            } catch (error) {
              const e = error as { code?: unknown; message?: unknown };
              // Refused, as documented, when it sets what the auditor sets; naming the fields only.
              if (own.length > 0 && e.code === 'ERR_AUTHTRAIL_INVALID_EVENT') {
                refused++;
                if (String(e.message).includes(secret))
                  failures.push(`a secret reached the error: ${secret}`);
              } else failures.push(`record() threw: ${why(error)}`);
              continue;
            }
            if (own.length > 0) failures.push(`record() took ${own.join(', ')}`);
            for (const at of oddPrototypes(event)) failures.push(`${at} has another prototype`);
          }
          await auditor.flush();
          const bytes = existsSync(path) ? readFileSync(path).subarray(offset) : Buffer.alloc(0);
          offset += bytes.length;
          const text = bytes.toString();
          const lines = text.split('\n');
          if (lines.pop() !== '') failures.push('the last line does not end in a newline');
          if (lines.length !== recorded)
            failures.push(`${lines.length} lines for ${recorded} recorded events`);
          for (const line of lines) {
            const size = Buffer.byteLength(line) + 1;
            observed.maxManualLine = Math.max(observed.maxManualLine, size);
            if (size > LINE_BOUND) failures.push(`a line of ${size} bytes: ${short(line)}`);
            const event: unknown = JSON.parse(line);
            const problems = manualSchema(event, 'event');
            const e = event as { type?: string; outcome?: unknown };
            if (e.type?.slice(e.type.lastIndexOf('.') + 1) !== e.outcome)
              problems.push(`event.outcome ${String(e.outcome)} is not the outcome of ${e.type}`);
            for (const p of problems) failures.push(`${p}: ${short(line)}`);
            for (const [at, s] of strings(event)) {
              if (CONTROL.test(s))
                failures.push(`${at} holds a control character: ${JSON.stringify(short(s))}`);
              if (LONE_SURROGATE.test(s))
                failures.push(`${at} holds a lone surrogate: ${JSON.stringify(short(s))}`);
              if (at.endsWith('(key)') && FORBIDDEN_KEYS.has(s))
                failures.push(`${at} is ${JSON.stringify(s)}`);
            }
          }
          events += lines.length;
          for (const { secret } of batch)
            if (text.includes(secret)) failures.push(`a secret reached the file: ${secret}`);
          if (failures.length > 0) throw new Error(failures.slice(0, 20).join('\n'));
        }),
        { numRuns: MANUAL_RUNS, seed: SEED, endOnFailure: true },
      );
    } finally {
      await auditor.close();
    }
    observed.manualEvents = events;
    expect(refused).toBeGreaterThan(0);
    expect(events + refused).toBe(MANUAL_RUNS * MANUAL_BATCH);
    expect(auditor.stats()).toMatchObject({ errors: 0, dropped: 0, failed: 0 });
  }, 120_000);
});

test('no claim reached Object.prototype', () => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
  // For the report: how much went through, and the largest line against the bound.
  process.stdout.write(
    `hostile input: seed ${SEED}, ${observed.requests} requests (${observed.viaSocket} over raw sockets (${observed.reset} answered by a reset), ${observed.refused} refused by Fastify's router, ${observed.big} with a header of 16 KB or more, ${observed.huge} of 1 MB or more), ${observed.events} events, largest line ${observed.maxLine} bytes, bound ${LINE_BOUND}; ${observed.manualEvents} manual events, largest line ${observed.maxManualLine} bytes\n`,
  );
});
