// A sink written the way a sink author outside this repository writes one: against
// `@authtrail/core/sink` only (the app side uses the main entry), posting to a real HTTP server on
// 127.0.0.1, run through a real auditor. What the kit promises: options fail at startup with the
// typed error core's own options throw, and a failed POST is retried by the auditor's queue.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAuditor, type Auditor } from '@authtrail/core';
import {
  checkOptions,
  drain,
  httpSender,
  resolveHttp,
  shapeOf,
  type AuditEvent,
  type AuthtrailError,
  type HttpCommonOptions,
  type Sink,
} from '@authtrail/core/sink';

interface CollectorOptions extends HttpCommonOptions {
  /** Names this service to the collector, in a header. */
  source: string;
  /** The collector's API key. */
  apiKey: string;
}

/** The custom sink under test: NDJSON to a collector that wants a source header and an API key. */
function collectorSink(url: string, options: CollectorOptions): Sink {
  const check = checkOptions('collectorSink', options);
  const { source, apiKey } = check.o;
  if (typeof source !== 'string' || !/^[a-z][a-z0-9-]{0,62}$/.test(source))
    check.issue('source', shapeOf(source), 'use a lowercase name such as "billing"');
  if (typeof apiKey !== 'string' || apiKey.length < 16)
    check.issue('apiKey', shapeOf(apiKey), 'use the 16+ character key the collector issued');
  // Throws every problem found, ours and the shared ones (URL, format, headers, timeoutMs).
  const target = resolveHttp(check, url, {
    name: 'collector',
    known: ['source', 'apiKey'],
    format: 'native',
    contentType: 'application/x-ndjson',
    credentials: 'pass the key in `apiKey` instead',
    reserved: ['x-source', 'x-api-key'],
    route: (endpoint, path) => {
      endpoint.pathname = `${path}/v1/events`;
    },
  });
  const headers = { ...target.headers, 'x-source': source, 'x-api-key': apiKey };
  const { send, close } = httpSender({ ...target, headers });
  return {
    name: target.name,
    close,
    async write(batch) {
      await drain(await send(batch.lines(target.format)));
    },
  };
}

const API_KEY = 'ck_live_9Zq3Xw7Vb2Nm5Lk8';
const KEYS = { fingerprint: 'sink-kit-test-fingerprint-key-0123456789' };

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A collector on 127.0.0.1: `status(n)` answers the n-th request (from 1). */
async function collector(status: (n: number) => number = () => 200) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      res.statusCode = status(received.length);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`, received };
}

function auditor(sink: Sink, delivery: Record<string, unknown> = {}): Auditor {
  const a = createAuditor({
    sinks: [sink],
    keys: KEYS,
    delivery: { minRetryDelayMs: 10, handleSignals: false, ...delivery },
  });
  closers.push(() => a.close());
  return a;
}

const lines = (body: string) =>
  body
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditEvent);

describe('a sink written against @authtrail/core/sink', () => {
  test('bad options throw one ERR_AUTHTRAIL_INVALID_OPTIONS naming every problem, never the key', () => {
    let error: AuthtrailError | undefined;
    try {
      collectorSink(`https://audit-user:${API_KEY}@collector.example.com/ingest`, {
        source: 'Billing Service',
        apiKey: API_KEY.slice(0, 8),
        format: 'xml' as never,
        timeoutMs: 0,
        headers: { 'x-api-key': API_KEY },
        colour: 'blue',
      } as CollectorOptions);
    } catch (thrown) {
      error = thrown as AuthtrailError;
    }
    expect(error?.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(error?.issues.map((i) => i.path)).toEqual([
      'collectorSink(url, { source })',
      'collectorSink(url, { apiKey })',
      'collectorSink(url, { colour })',
      'collectorSink(url)',
      'collectorSink(url, { format })',
      'collectorSink(url, { timeoutMs })',
      'collectorSink(url, { headers.x-api-key })',
    ]);
    expect(error?.message).toContain('authtrail options have 7 problems');
    expect(error?.message).toContain(
      `collectorSink(url, { format }): received "xml"; use one of 'native', 'ecs', 'ocsf'`,
    );
    // The key, whole or in part, and the URL's credentials are described, never shown.
    const text = JSON.stringify({ message: error?.message, issues: error?.issues });
    expect(text).not.toContain(API_KEY.slice(0, 8));
    expect(text).not.toContain('audit-user');
  });

  test('an options value that is not an object is reported as such', () => {
    expect(() => collectorSink('http://127.0.0.1:1/', null as never)).toThrow(
      expect.objectContaining({
        code: 'ERR_AUTHTRAIL_INVALID_OPTIONS',
        issues: expect.arrayContaining([
          { path: 'collectorSink(url, options)', received: 'null', fix: 'use an options object' },
        ]),
      }),
    );
  });

  test('delivers the events recorded in one turn as one batch, to its route, with its headers', async () => {
    const server = await collector();
    const audit = auditor(collectorSink(server.url, { source: 'billing', apiKey: API_KEY }));
    for (let i = 0; i < 5; i++) audit.record({ type: 'app.export.success', reason: String(i) });
    await audit.flush();

    expect(server.received).toHaveLength(1);
    const [request] = server.received;
    expect(request!.path).toBe('/ingest/v1/events');
    expect(request!.headers).toMatchObject({
      'content-type': 'application/x-ndjson',
      'x-source': 'billing',
      'x-api-key': API_KEY,
    });
    const events = lines(request!.body);
    expect(events.map((e) => e.reason)).toEqual(['0', '1', '2', '3', '4']);
    expect(events.every((e) => e.type === 'app.export.success')).toBe(true);
    expect(audit.stats()).toMatchObject({ delivered: 5, failed: 0, dropped: 0 });
  });

  test('maxBatch splits what is queued into batches of that size, each one POST', async () => {
    const server = await collector();
    const audit = auditor(collectorSink(server.url, { source: 'billing', apiKey: API_KEY }), {
      maxBatch: 2,
    });
    for (let i = 0; i < 5; i++) audit.record({ type: 'app.export.success', reason: String(i) });
    await audit.flush();
    expect(server.received.map((r) => lines(r.body).map((e) => e.reason))).toEqual([
      ['0', '1'],
      ['2', '3'],
      ['4'],
    ]);
  });

  test('a 503 rejects the write with ERR_AUTHTRAIL_SINK_WRITE; the queue retries and every event arrives once, in order', async () => {
    const server = await collector((n) => (n <= 2 ? 503 : 200));
    const audit = auditor(
      collectorSink(server.url, { source: 'billing', apiKey: API_KEY, format: 'ecs' }),
    );
    const errors: AuthtrailError[] = [];
    const listener = (message: unknown) =>
      errors.push((message as { error: AuthtrailError }).error);
    subscribe('authtrail:sink-error', listener);
    try {
      for (let i = 0; i < 3; i++) audit.record({ type: 'app.export.success', reason: String(i) });
      await audit.flush();
    } finally {
      unsubscribe('authtrail:sink-error', listener);
    }

    expect(server.received).toHaveLength(3);
    // The same batch each time, byte for byte: the queue retried it, the sink did not rebuild it.
    expect(new Set(server.received.map((r) => r.body)).size).toBe(1);
    const documents = server.received[2]!.body.trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: { reason: string } });
    expect(documents.map((d) => d.event.reason)).toEqual(['0', '1', '2']);
    expect(audit.stats()).toMatchObject({ delivered: 3, failed: 2, dropped: 0 });
    const origin = new URL(server.url).origin;
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['ERR_AUTHTRAIL_SINK_WRITE', `collector: POST ${origin} answered 503`],
      ['ERR_AUTHTRAIL_SINK_WRITE', `collector: POST ${origin} answered 503`],
    ]);
    // Neither the key nor the route reaches what is published.
    for (const error of errors) {
      const text = JSON.stringify({ ...error, message: error.message });
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain('/ingest');
    }
  });
});
