import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import express from 'express';
import request from 'supertest';
import winston from 'winston';
import { createAuditor } from '@authtrail/core';
import { authtrail } from '@authtrail/express';
import { auditOnly, winstonSink, withoutAudit } from '@authtrail/winston';

const KEY = 'fingerprint-key-for-tests-0123456789';
const keys = { fingerprint: KEY };
type Json = Record<string, unknown>;

/** A Stream transport into a PassThrough, and everything it received so far. */
function capture(format?: winston.Logform.Format) {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk) => (text += String(chunk)));
  const transport = new winston.transports.Stream({ stream, ...(format ? { format } : {}) });
  return {
    transport,
    text: () => text,
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Json),
  };
}

/** The app's logger as an app would configure it: its own formats on every entry. */
function appLogger(transports: winston.transport[]) {
  return winston.createLogger({
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports,
  });
}

async function waitFor(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for log output');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('winstonSink options', () => {
  test('refuses something that is not a winston logger, naming how to fix it', () => {
    for (const bad of [undefined, null, {}, console]) {
      expect(() => winstonSink(bad as never)).toThrow(
        expect.objectContaining({
          code: 'ERR_AUTHTRAIL_INVALID_OPTIONS',
          message: expect.stringContaining('winston.createLogger()'),
        }),
      );
    }
  });

  test('reports an unknown level and an unknown format together, listing the valid values', () => {
    const logger = appLogger([capture().transport]);
    let error: { code?: string; message?: string; issues?: unknown[] } = {};
    try {
      winstonSink(logger, { level: 'notice', format: 'gelf' as never });
    } catch (e) {
      error = e as typeof error;
    }
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(error.issues).toHaveLength(2);
    expect(error.message).toContain(
      `winstonSink(logger, { level }): received "notice"; use one of the logger's levels (error, warn, info, http, verbose, debug, silly)`,
    );
    expect(error.message).toContain(`received "gelf"; use one of 'native', 'ecs', 'ocsf'`);
  });

  test('accepts a custom level the logger defines', () => {
    const logger = winston.createLogger({
      levels: { audit: 0, info: 1 },
      transports: [capture().transport],
    });
    expect(winstonSink(logger, { level: 'audit' }).name).toBe('winston');
  });
});

describe('winstonSink', () => {
  test('writes each event through the logger with its formats (timestamp + json) still applied', async () => {
    const out = capture();
    const logger = appLogger([out.transport]);
    const auditor = createAuditor({ sinks: [winstonSink(logger, { level: 'warn' })], keys });
    auditor.record({ type: 'authn.login.success', user: { id: 'u1' } });
    auditor.record({ type: 'api.authz.failure', reason: 'insufficient_scope' });
    // flush() returns once the transport has the entries: no extra waiting here.
    await auditor.flush();
    const lines = out.lines();
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        message: 'authn.login.success',
        timestamp: expect.any(String),
        schema: 1,
        type: 'authn.login.success',
        user: { id: 'u1' },
      }),
      expect.objectContaining({ type: 'api.authz.failure', reason: 'insufficient_scope' }),
    ]);
    expect(Date.parse(lines[0]!.timestamp as string)).not.toBeNaN();
  });

  test('routes audit events only to the transport with auditOnly(), and app logs only to the one with withoutAudit()', async () => {
    const audit = capture(auditOnly());
    const app = capture(withoutAudit());
    const logger = appLogger([audit.transport, app.transport]);
    const auditor = createAuditor({ sinks: [winstonSink(logger)], keys });
    logger.info('server started', { port: 3000 });
    auditor.record({ type: 'authn.login.success', user: { id: 'u1' } });
    auditor.record({ type: 'authn.logout.success', user: { id: 'u1' } });
    logger.warn('slow request');
    await auditor.flush();
    expect(audit.lines().map((l) => l.type)).toEqual([
      'authn.login.success',
      'authn.logout.success',
    ]);
    expect(app.lines().map((l) => l.message)).toEqual(['server started', 'slow request']);
    expect(app.text()).not.toContain('authn.');
  });

  test('writes ECS documents to a File transport, beside the timestamp the app format adds', async () => {
    const filename = join(mkdtempSync(join(tmpdir(), 'authtrail-winston-')), 'audit.log');
    const logger = appLogger([new winston.transports.File({ filename, format: auditOnly() })]);
    const auditor = createAuditor({ sinks: [winstonSink(logger, { format: 'ecs' })], keys });
    auditor.record({
      type: 'api.authn.failure',
      reason: 'token_expired',
      http: { method: 'GET', path: '/orders', status: 401, duration_ms: 2 },
    });
    await auditor.close();
    // The file's own stream writes after the transport accepted the entry (see settled()).
    await waitFor(() => existsSync(filename) && readFileSync(filename, 'utf8').includes('\n'));
    const [doc] = readFileSync(filename, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Json);
    expect(doc).toMatchObject({
      level: 'info',
      message: 'api.authn.failure',
      timestamp: expect.any(String),
      '@timestamp': expect.any(String),
      ecs: { version: expect.stringMatching(/^8\./) },
      event: {
        action: 'api.authn.failure',
        outcome: 'failure',
        reason: 'token_expired',
        category: expect.arrayContaining(['authentication', 'web']),
      },
      http: { request: { method: 'GET' }, response: { status_code: 401 } },
    });
    logger.end();
  });

  test('close() leaves the logger open for the app', async () => {
    const out = capture();
    const logger = appLogger([out.transport]);
    const auditor = createAuditor({ sinks: [winstonSink(logger)], keys });
    auditor.record({ type: 'authn.login.success' });
    await auditor.close();
    logger.info('still logging');
    await waitFor(() => out.text().includes('still logging'));
    expect(logger.writable).toBe(true);
    expect(out.lines().map((l) => l.message)).toEqual(['authn.login.success', 'still logging']);
  });
});

describe('through a real Express app', () => {
  test('logs a bearer-token request with the token fingerprint and never the token', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${b64({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })}.${b64({
      sub: 'u-42',
      iss: 'https://op.example',
      aud: 'https://api.example',
      scope: 'orders:read',
      exp: Math.floor(Date.now() / 1000) + 300,
    })}`;
    const token = `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;

    const out = capture(auditOnly());
    const logger = appLogger([out.transport]);
    const app = express();
    const auditor = createAuditor({ sinks: [winstonSink(logger, { format: 'ecs' })], keys });
    app.use(authtrail({ auditor }));
    app.get('/orders/:id', (req, res) => res.json({ id: req.params.id }));

    await request(app).get('/orders/7').set('authorization', `Bearer ${token}`).expect(200);
    // The event is built when the response closes, just after supertest resolves.
    await waitFor(() => auditor.stats().enqueued > 0);
    await auditor.flush();

    const text = out.text();
    const fingerprint = createHmac('sha256', Buffer.from(KEY))
      .update(token)
      .digest()
      .subarray(0, 16)
      .toString('base64url');
    expect(out.lines()).toEqual([
      expect.objectContaining({
        event: expect.objectContaining({ action: 'api.access.success' }),
        user: { id: 'u-42' },
        authtrail: expect.objectContaining({
          oauth: expect.objectContaining({
            token: expect.objectContaining({ fingerprint, verified: false }),
          }),
        }),
      }),
    ]);
    expect(text).toContain(fingerprint);
    expect(text).not.toContain(token);
    for (const part of token.split('.')) expect(text).not.toContain(part);
  });
});
