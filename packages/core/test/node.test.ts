// The shell every adapter shares (core/node, issue 15 move 7), as an adapter author uses it.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  attachAdapter,
  clientIp,
  createAuditor,
  fileSink,
  mountedRoute,
  type AuditEvent,
} from '@authtrail/core';

const KEY = { fingerprint: 'fingerprint-key-for-tests-0123456789' };
const logFile = () => join(mkdtempSync(join(tmpdir(), 'authtrail-node-')), 'audit.jsonl');
const lines = (path: string): AuditEvent[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent);

describe('attachAdapter()', () => {
  test('creates an auditor named after the adapter, whose release() closes it', async () => {
    const path = logFile();
    const { handle, release } = attachAdapter('hono', { sinks: [fileSink(path)], keys: KEY });
    handle.recorder.record({ type: 'authn.mfa_verify.success', user: { id: 'u-1' } });
    await release();
    expect(() => handle.recorder.record({ type: 'authn.mfa_verify.success' })).toThrow(
      expect.objectContaining({ code: 'ERR_AUTHTRAIL_CLOSED' }),
    );
    expect(lines(path).map((e) => e.observer.adapter)).toEqual(['hono']);
  });

  test("takes a shared auditor, labels the adapter's events with the adapter, and release() only flushes it", async () => {
    const path = logFile();
    const shared = createAuditor({ sinks: [fileSink(path)], keys: KEY });
    const { handle, release } = attachAdapter('hono', { auditor: shared, service: 'ignored' });
    handle.recorder.record({ type: 'authn.mfa_verify.success' });
    await release();
    // The other options are ignored: the shared auditor keeps its own service name.
    expect(lines(path).map((e) => [e.observer.adapter, e.observer.service === 'ignored'])).toEqual([
      ['hono', false],
    ]);
    shared.record({ type: 'authn.mfa_enroll.success' }); // still open
    await shared.close();
    expect(lines(path).map((e) => e.observer.adapter)).toEqual(['hono', 'core']);
  });
});

describe('mountedRoute()', () => {
  test.each([
    ['/api/orders/7?x=1', '/orders/:id', '', '/api/orders/:id'],
    ['/tenants/acme/orders/7/', '/orders/:id', '/tenants/acme', '/tenants/acme/orders/:id'],
    ['/orders/7', '/orders/:id', '', '/orders/:id'],
    ['/api', '/', '', '/api'],
    ['/', '/', '', '/'],
    ['/api/files/a/b', '/files/*path', '/api', '/api/files/*path'],
    ['/api/x', undefined, '/api', undefined],
  ])('%s matched by %s (router prefix now %j) is the route %s', (url, template, prefix, route) => {
    expect(mountedRoute(url, template, prefix)).toBe(route);
  });
});

describe('clientIp()', () => {
  const request = { ip: '203.0.113.9', socket: { remoteAddress: '127.0.0.1' } };

  test("is the socket's address unless the app trusts a proxy, then the framework's view", () => {
    expect(clientIp(false, request)).toBe('127.0.0.1');
    expect(clientIp(true, request)).toBe('203.0.113.9');
  });

  test("falls back to the framework's view when the socket is gone", () => {
    expect(clientIp(false, { ip: '127.0.0.2', socket: null })).toBe('127.0.0.2');
  });
});
