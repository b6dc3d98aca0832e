import { spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { gunzipSync } from 'node:zlib';
import {
  createAuditor,
  elasticsearchBulk,
  httpSink,
  splunkHec,
  type AuditEvent,
  type Auditor,
  type AuthtrailError,
  type Sink,
} from '@authtrail/core';

const KEY = { fingerprint: 'fingerprint-key-for-tests-0123456789' };
const SIGNING_KEY = 'signing-key-for-tests-0123456789-abcdef';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}
/** What the test server answers to its n-th request (from 1), or 'hang' to never answer. */
type Answer = (req: Received, n: number) => { status: number; body?: string } | 'hang';

const servers: { close(): Promise<void> }[] = [];
const auditors: Auditor[] = [];

afterEach(async () => {
  await Promise.all(auditors.splice(0).map((a) => a.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A real HTTP server on 127.0.0.1:0 that keeps every request it got, raw body included. */
async function listen(answer: Answer = () => ({ status: 200 })) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const r = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      received.push(r);
      const a = answer(r, received.length);
      if (a === 'hang') return;
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body ?? '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  servers.push({ close });
  return { url: `http://127.0.0.1:${port}`, received, close };
}

function audit(sink: Sink, delivery: Record<string, unknown> = {}): Auditor {
  const auditor = createAuditor({
    sinks: [sink],
    keys: KEY,
    delivery: { minRetryDelayMs: 10, ...delivery },
  });
  auditors.push(auditor);
  return auditor;
}

/** Records `n` events whose `reason` is their position, and returns them as JSON would carry them. */
function record(auditor: Auditor, n: number): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (let i = 0; i < n; i++) {
    const event = auditor.record({
      type: 'app.export.success',
      reason: String(i),
      user: { id: `u-${i}` },
    });
    events.push(JSON.parse(JSON.stringify(event)) as AuditEvent);
  }
  return events;
}

const jsonLines = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);

/** Every error published on 'authtrail:sink-error' while `run` runs. */
async function sinkErrors(run: () => Promise<void>): Promise<AuthtrailError[]> {
  const errors: AuthtrailError[] = [];
  const listener = (message: unknown) => errors.push((message as { error: AuthtrailError }).error);
  subscribe('authtrail:sink-error', listener);
  try {
    await run();
  } finally {
    unsubscribe('authtrail:sink-error', listener);
  }
  return errors;
}

function thrown(create: () => unknown): AuthtrailError {
  try {
    create();
  } catch (error) {
    return error as AuthtrailError;
  }
  throw new Error('expected a throw');
}

describe('httpSink, splunkHec and elasticsearchBulk options', () => {
  test('report every problem at once with ERR_AUTHTRAIL_INVALID_OPTIONS: scheme, body mode, short signing key, timeout', () => {
    const error = thrown(() =>
      httpSink('ftp://collector.example.com/audit', {
        body: 'xml' as 'array',
        sign: { key: 'too-short' },
        timeoutMs: 0,
      }),
    );
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(error.issues.map((i) => i.path)).toEqual([
      'httpSink(url, { body })',
      'httpSink(url, { sign.key })',
      'httpSink(url)',
      'httpSink(url, { timeoutMs })',
    ]);
    expect(error.message).toContain("received \"xml\"; use 'ndjson' or 'array'");
    expect(error.message).toContain('received a key of 9 bytes; use at least 32 bytes of secret');
    expect(error.message).toContain('received a URL with scheme ftp:; use an absolute http(s) URL');
    expect(error.message).not.toContain('too-short');
  });

  test('rejects a URL that is not absolute', () => {
    const error = thrown(() => httpSink('/audit'));
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(error.message).toContain(
      'httpSink(url): received a string of 6 characters; use an absolute http(s) URL',
    );
  });

  test('rejects credentials in the URL without repeating them, and says to pass them in headers', () => {
    const error = thrown(() => httpSink('https://audit:hunter2-password@collector.example.com/in'));
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(error.message).toContain('received a URL with credentials (user:password@)');
    expect(error.message).toContain('pass them in `headers` instead');
    expect(error.message).not.toContain('hunter2');
  });

  test('refuses headers the sink sets itself and header values that could split the request', () => {
    const error = thrown(() =>
      httpSink('https://collector.example.com/in', {
        headers: { 'content-encoding': 'br', 'x-token': 'secret-value\r\nx-evil: 1' },
        sign: { key: SIGNING_KEY, header: 'x-sig' },
      }),
    );
    expect(error.issues.map((i) => i.path)).toEqual([
      'httpSink(url, { headers.content-encoding })',
      'httpSink(url, { headers.x-token })',
    ]);
    expect(error.message).not.toContain('secret-value');
  });

  test('splunkHec requires a token; elasticsearchBulk checks the index and takes one kind of credentials', () => {
    const hec = thrown(() => splunkHec('https://splunk.example.com:8088', {} as { token: string }));
    expect(hec.issues.map((i) => `${i.path}: ${i.received}`)).toEqual([
      'splunkHec(url, { token }): nothing',
    ]);
    const es = thrown(() =>
      elasticsearchBulk('https://es.example.com:9200', {
        index: 'Audit Logs',
        apiKey: 'api-key-secret',
        username: 'elastic',
        password: 'es-password-secret',
      }),
    );
    expect(es.issues.map((i) => i.path)).toEqual([
      'elasticsearchBulk(url, { index })',
      'elasticsearchBulk(url, { apiKey, username })',
    ]);
    expect(es.message).not.toMatch(/api-key-secret|es-password-secret/);
  });
});

describe('httpSink', () => {
  test('POSTs each batch as JSON lines that parse back to the recorded events', async () => {
    const server = await listen();
    const auditor = audit(httpSink(`${server.url}/ingest`));
    const events = record(auditor, 3);
    await auditor.flush();
    expect(server.received).toHaveLength(1);
    const [req] = server.received;
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/ingest');
    expect(req!.headers['content-type']).toBe('application/x-ndjson');
    expect(jsonLines(req!.body.toString())).toEqual(events);
  });

  test("sends one JSON array with body: 'array', in the format asked for", async () => {
    const server = await listen();
    const auditor = audit(httpSink(server.url, { body: 'array', format: 'ecs' }));
    const events = record(auditor, 3);
    await auditor.flush();
    const [req] = server.received;
    expect(req!.headers['content-type']).toBe('application/json');
    const docs = JSON.parse(req!.body.toString()) as {
      '@timestamp': string;
      event: { id: string };
    }[];
    expect(docs.map((d) => [d['@timestamp'], d.event.id])).toEqual(
      events.map((e) => [e.time, e.id]),
    );
  });

  test('gzips the body with content-encoding: gzip when gzip is true', async () => {
    const server = await listen();
    const auditor = audit(httpSink(server.url, { gzip: true }));
    const events = record(auditor, 2);
    await auditor.flush();
    const [req] = server.received;
    expect(req!.headers['content-encoding']).toBe('gzip');
    expect(jsonLines(gunzipSync(req!.body).toString())).toEqual(events);
  });

  test('signs the exact bytes sent (gzipped) with HMAC-SHA-256 in x-authtrail-signature', async () => {
    const server = await listen();
    const auditor = audit(httpSink(server.url, { gzip: true, sign: { key: SIGNING_KEY } }));
    record(auditor, 2);
    await auditor.flush();
    const [req] = server.received;
    const header = String(req!.headers['x-authtrail-signature']);
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    const expected = createHmac('sha256', SIGNING_KEY).update(req!.body).digest();
    expect(timingSafeEqual(Buffer.from(header.slice(7), 'hex'), expected)).toBe(true);
  });

  test('sends the extra headers it was given, and the signature under a custom header name', async () => {
    const server = await listen();
    const auditor = audit(
      httpSink(server.url, {
        headers: { Authorization: 'Bearer collector-token', 'x-tenant': 'acme' },
        sign: { key: Buffer.from(SIGNING_KEY), header: 'X-Audit-Signature' },
      }),
    );
    record(auditor, 1);
    await auditor.flush();
    const [req] = server.received;
    expect(req!.headers).toMatchObject({
      authorization: 'Bearer collector-token',
      'x-tenant': 'acme',
    });
    expect(req!.headers['x-audit-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  test('a 503 rejects the write with ERR_AUTHTRAIL_SINK_WRITE; the queue retries it and every event arrives exactly once, in order', async () => {
    const server = await listen((_, n) => (n <= 2 ? { status: 503 } : { status: 200 }));
    const auditor = audit(httpSink(server.url));
    const errors = await sinkErrors(async () => {
      record(auditor, 5);
      await auditor.flush();
    });
    expect(server.received).toHaveLength(3);
    // The same batch each time, byte for byte.
    expect(new Set(server.received.map((r) => r.body.toString())).size).toBe(1);
    const delivered = jsonLines(server.received[2]!.body.toString()) as AuditEvent[];
    expect(delivered.map((e) => e.reason)).toEqual(['0', '1', '2', '3', '4']);
    expect(auditor.stats()).toMatchObject({ delivered: 5, dropped: 0, failed: 2 });
    expect(auditor.stats().retried).toBeGreaterThan(0);
    expect(errors.map((e) => e.message)).toEqual([
      `http: POST ${server.url} answered 503`,
      `http: POST ${server.url} answered 503`,
    ]);
    expect(errors.map((e) => e.code)).toEqual([
      'ERR_AUTHTRAIL_SINK_WRITE',
      'ERR_AUTHTRAIL_SINK_WRITE',
    ]);
    expect(errors[0]).toMatchObject({
      name: 'AuthtrailError',
      status: 503,
      url: server.url,
    });
  });

  test('a redirect is a failed write, not followed (a followed 302 would turn the POST into a GET)', async () => {
    const server = await listen(() => ({ status: 302 }));
    const auditor = audit(httpSink(server.url), { retries: 0 });
    const errors = await sinkErrors(async () => {
      record(auditor, 1);
      await auditor.flush();
    });
    expect(server.received.map((r) => r.method)).toEqual(['POST']);
    expect(errors.map((e) => e.message)).toEqual([
      `http: POST ${server.url} answered 302 (redirects are not followed: configure the final URL)`,
    ]);
    expect(errors[0]).toMatchObject({ code: 'ERR_AUTHTRAIL_SINK_WRITE', status: 302 });
  });

  test('a server that never answers fails the write after timeoutMs, with no status', async () => {
    const server = await listen(() => 'hang');
    const auditor = audit(httpSink(`${server.url}/slow`, { timeoutMs: 200 }), { retries: 0 });
    const started = Date.now();
    const errors = await sinkErrors(async () => {
      record(auditor, 1);
      await auditor.flush();
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(errors.map((e) => e.message)).toEqual([
      `http: POST ${server.url} timed out after 200 ms`,
    ]);
    expect(errors[0]).toMatchObject({
      code: 'ERR_AUTHTRAIL_SINK_WRITE',
      status: undefined,
      url: server.url,
    });
    expect(auditor.stats()).toMatchObject({ failed: 1, dropped: 1, delivered: 0 });
  });
});

describe('splunkHec', () => {
  test('POSTs {time, event, source, sourcetype, index} objects to /services/collector/event with Authorization: Splunk <token>', async () => {
    const server = await listen(() => ({ status: 200, body: '{"text":"Success","code":0}' }));
    const auditor = audit(
      splunkHec(server.url, {
        token: '11111111-2222-3333-4444-555555555555',
        index: 'audit',
        sourcetype: '_json',
        source: 'billing-api',
      }),
    );
    const events = record(auditor, 2);
    await auditor.flush();
    const [req] = server.received;
    expect(req!.url).toBe('/services/collector/event');
    expect(req!.headers.authorization).toBe('Splunk 11111111-2222-3333-4444-555555555555');
    expect(req!.headers['content-type']).toBe('application/json');
    const body = req!.body.toString();
    expect(body).toMatch(/^\{"time":\d+\.\d{3},"event":\{/);
    expect(jsonLines(body)).toEqual(
      events.map((event) => ({
        time: Date.parse(event.time) / 1000,
        event,
        source: 'billing-api',
        sourcetype: '_json',
        index: 'audit',
      })),
    );
  });
});

describe('elasticsearchBulk', () => {
  const ok = (n: number) =>
    JSON.stringify({
      errors: false,
      items: Array.from({ length: n }, () => ({ create: { status: 201 } })),
    });

  test('POSTs create action + ECS document pairs to <url>/<index>/_bulk with the API key', async () => {
    const server = await listen(() => ({ status: 200, body: ok(2) }));
    const auditor = audit(
      elasticsearchBulk(server.url, { index: 'logs-authtrail-default', apiKey: 'ZXM6YXBpa2V5' }),
    );
    const events = record(auditor, 2);
    await auditor.flush();
    const [req] = server.received;
    const url = new URL(req!.url, server.url);
    expect(url.pathname).toBe('/logs-authtrail-default/_bulk');
    expect(req!.headers).toMatchObject({
      authorization: 'ApiKey ZXM6YXBpa2V5',
      'content-type': 'application/x-ndjson',
    });
    const lines = jsonLines(req!.body.toString()) as Record<string, unknown>[];
    expect(req!.body.toString().endsWith('\n')).toBe(true);
    expect(lines).toHaveLength(4);
    expect(lines.filter((_, i) => i % 2 === 0)).toEqual(
      events.map((e) => ({ create: { _id: e.id } })),
    );
    expect(lines.filter((_, i) => i % 2 === 1).map((d) => d['@timestamp'])).toEqual(
      events.map((e) => e.time),
    );
    expect(auditor.stats()).toMatchObject({ delivered: 2, failed: 0 });
  });

  test('names the index in each action when the URL is the _bulk endpoint, and sends basic credentials', async () => {
    const server = await listen(() => ({ status: 200, body: ok(1) }));
    const auditor = audit(
      elasticsearchBulk(`${server.url}/_bulk`, {
        index: 'audit',
        username: 'elastic',
        password: 'pw',
      }),
    );
    const [event] = record(auditor, 1);
    await auditor.flush();
    const [req] = server.received;
    expect(new URL(req!.url, server.url).pathname).toBe('/_bulk');
    expect(req!.headers.authorization).toBe(
      `Basic ${Buffer.from('elastic:pw').toString('base64')}`,
    );
    expect(jsonLines(req!.body.toString())[0]).toEqual({
      create: { _index: 'audit', _id: event!.id },
    });
  });

  test('a 200 answer with errors: true is a failed write (ERR_AUTHTRAIL_SINK_WRITE) naming the count and first error type, not the documents', async () => {
    const answer = JSON.stringify({
      errors: true,
      items: [
        { create: { status: 201 } },
        {
          create: {
            status: 400,
            error: {
              type: 'mapper_parsing_exception',
              reason: 'failed to parse field [user.id] of u-1',
            },
          },
        },
        { create: { status: 429, error: { type: 'es_rejected_execution_exception' } } },
      ],
    });
    const server = await listen(() => ({ status: 200, body: answer }));
    const auditor = audit(elasticsearchBulk(server.url, { index: 'audit' }), { retries: 0 });
    const errors = await sinkErrors(async () => {
      record(auditor, 3);
      await auditor.flush();
    });
    expect(auditor.stats()).toMatchObject({ failed: 1, delivered: 0, dropped: 3 });
    expect(errors.map((e) => e.message)).toEqual([
      `elasticsearch: POST ${server.url} answered 200 with errors: 2 of 3 documents failed (first error type: mapper_parsing_exception)`,
    ]);
    expect(errors[0]).toMatchObject({
      code: 'ERR_AUTHTRAIL_SINK_WRITE',
      status: 200,
      url: server.url,
    });
  });

  test('a retried batch whose documents the first attempt indexed (409 on the same _id) counts as delivered', async () => {
    const conflicts = JSON.stringify({
      errors: true,
      items: [
        { create: { status: 409, error: { type: 'version_conflict_engine_exception' } } },
        { create: { status: 201 } },
      ],
    });
    const server = await listen(() => ({ status: 200, body: conflicts }));
    const auditor = audit(elasticsearchBulk(server.url, { index: 'audit' }));
    record(auditor, 2);
    await auditor.flush();
    expect(auditor.stats()).toMatchObject({ delivered: 2, failed: 0 });
  });
});

describe('secrets in sink errors', () => {
  test('no authorization value, token, API key, password, signing key or query appears in any published error', async () => {
    const secrets = [
      'Bearer-http-collector-secret',
      SIGNING_KEY,
      'hec-token-secret-0000',
      'es-api-key-secret',
      'query-secret-value',
    ];
    const refusing = await listen(() => ({ status: 401, body: JSON.stringify({ echo: secrets }) }));
    const bulkErrors = await listen(() => ({
      status: 200,
      body: JSON.stringify({
        errors: true,
        items: [{ create: { status: 400, error: { type: 'x', reason: secrets.join() } } }],
      }),
    }));
    const gone = await listen();
    await gone.close();
    const sinks = [
      httpSink(`${refusing.url}/in?token=query-secret-value`, {
        headers: { authorization: 'Bearer Bearer-http-collector-secret' },
        sign: { key: SIGNING_KEY },
      }),
      httpSink(`${gone.url}/in?token=query-secret-value`, {
        headers: { authorization: 'Bearer Bearer-http-collector-secret' },
        sign: { key: SIGNING_KEY },
      }),
      splunkHec(refusing.url, { token: 'hec-token-secret-0000' }),
      elasticsearchBulk(`${bulkErrors.url}?api_key=query-secret-value`, {
        index: 'audit',
        apiKey: 'es-api-key-secret',
      }),
    ];
    const errors = await sinkErrors(async () => {
      for (const sink of sinks) {
        const auditor = audit(sink, { retries: 0 });
        auditor.record({ type: 'app.export.success' });
        await auditor.flush();
      }
    });
    expect(errors.map((e) => e.message)).toEqual([
      `http: POST ${refusing.url} answered 401`,
      `http: POST ${gone.url} failed (ECONNREFUSED)`,
      `splunk-hec: POST ${refusing.url} answered 401`,
      `elasticsearch: POST ${bulkErrors.url} answered 200 with errors: 1 of 1 documents failed (first error type: x)`,
    ]);
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['ERR_AUTHTRAIL_SINK_WRITE']));
    for (const error of errors) {
      const everything = [
        error.message,
        error.stack,
        JSON.stringify(error),
        String(error.cause),
      ].join('\n');
      for (const secret of secrets) expect(everything).not.toContain(secret);
    }
  });
});

describe('close() with a collector that accepts and never answers', () => {
  const CLOSE_TIMEOUT_MS = 200;
  /** What close() may take beyond closeTimeoutMs (the queue's margin), plus scheduling slack. */
  const WITHIN_MS = CLOSE_TIMEOUT_MS + 200 + 400;
  // The default timeoutMs (10 s): without the abort, the request would stay open that long.
  const sinks: Record<string, (url: string) => Sink> = {
    httpSink: (url) => httpSink(`${url}/ingest`),
    splunkHec: (url) => splunkHec(url, { token: 'hec-token-for-tests' }),
    elasticsearchBulk: (url) => elasticsearchBulk(url, { index: 'audit' }),
  };

  /** Takes every request, reads its body and never answers; `closed` settles when a socket closes. */
  async function silentCollector() {
    let requests = 0;
    let socketClosed!: () => void;
    const closed = new Promise<void>((resolve) => (socketClosed = resolve));
    const server = createServer((req) => {
      requests++;
      req.resume();
    });
    server.on('connection', (socket) => socket.once('close', socketClosed));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    servers.push({
      close: () => {
        server.closeAllConnections();
        return new Promise<void>((resolve) => server.close(() => resolve()));
      },
    });
    return { url: `http://127.0.0.1:${port}`, requests: () => requests, closed };
  }

  const settledWithin = (promise: Promise<void>, ms: number) =>
    Promise.race([
      promise.then(() => 'settled'),
      new Promise((resolve) => setTimeout(resolve, ms, 'still pending')),
    ]);

  test.each(Object.keys(sinks))(
    '%s: close() ends within closeTimeoutMs, counts the batch as dropped and aborts the request (the collector sees the socket close)',
    async (kind) => {
      const collector = await silentCollector();
      const auditor = audit(sinks[kind]!(collector.url), {
        closeTimeoutMs: CLOSE_TIMEOUT_MS,
        handleSignals: false,
      });
      record(auditor, 3);
      while (collector.requests() === 0) await new Promise((r) => setTimeout(r, 5));
      const started = performance.now();
      await auditor.close();
      expect(performance.now() - started).toBeLessThan(WITHIN_MS);
      expect(auditor.stats()).toMatchObject({ enqueued: 3, delivered: 0, dropped: 3 });
      expect(await settledWithin(collector.closed, 2000)).toBe('settled');
    },
  );

  test.each(Object.keys(sinks))(
    '%s: a process that closed its auditor exits by itself at once (no open request keeps it alive)',
    async (kind) => {
      const collector = await silentCollector();
      const child = spawn(
        process.execPath,
        [join(__dirname, '..', 'contract', 'http-close-exit.mjs'), kind, collector.url],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      const exited = new Promise<{ code: number | null; afterClose: number }>((resolve) =>
        child.once('exit', (code) => resolve({ code, afterClose: performance.now() - closedAt })),
      );
      let closedAt = Infinity;
      const closedLine = new Promise((r) =>
        createInterface({ input: child.stdout! }).once('line', r),
      );
      while (collector.requests() === 0) await new Promise((r) => setTimeout(r, 5));
      child.stdin!.end('close\n');
      expect(await closedLine).toBe('closed');
      closedAt = performance.now();
      // Without the abort the open request keeps the process alive for its 60 s timeout.
      const stuck = setTimeout(() => child.kill('SIGKILL'), 5000);
      const { code, afterClose } = await exited;
      clearTimeout(stuck);
      expect(code).toBe(0);
      expect(afterClose).toBeLessThan(1000);
    },
  );
});
