import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAuditor,
  fileSink,
  memorySink,
  type AuditEvent,
  type RequestFacts,
  type Sink,
  type SinkHost,
} from '@authtrail/core';

const KEY = { fingerprint: 'fingerprint-key-for-tests-0123456789' };

const lines = (path: string): AuditEvent[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent);

const unauthenticated: RequestFacts = {
  startTime: Date.now(),
  durationMs: 1,
  method: 'GET',
  url: '/items',
  status: 401,
  headers: {},
};

describe('attach()', () => {
  test('labels the events it builds and those its recorder records with the adapter, the rest with the auditor', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'authtrail-attach-')), 'audit.jsonl');
    const auditor = createAuditor({ sinks: [fileSink(path)], keys: KEY });
    const hono = auditor.attach('hono');
    hono.observe(unauthenticated);
    hono.recorder.record({ type: 'authn.mfa_verify.success', user: { id: 'u-1' } });
    auditor.record({ type: 'authn.mfa_enroll.success', user: { id: 'u-2' } });
    await auditor.close();

    expect(lines(path).map((e) => [e.observer.adapter, e.type])).toEqual([
      ['hono', 'api.authn.failure'],
      ['hono', 'authn.mfa_verify.success'],
      ['core', 'authn.mfa_enroll.success'],
    ]);
  });

  test('hands route handlers a recorder that records and can do nothing else', async () => {
    const auditor = createAuditor({ sinks: [memorySink()], keys: KEY });
    const { recorder } = auditor.attach('express');
    expect(Object.keys(recorder)).toEqual(['record']);
    expect(Object.isFrozen(recorder)).toBe(true);
    await auditor.close();
    expect(() => recorder.record({ type: 'authn.mfa_verify.success' })).toThrow(
      expect.objectContaining({ code: 'ERR_AUTHTRAIL_CLOSED' }),
    );
  });
});

describe('the sink host', () => {
  /** A detector: after three failed sign-ins of one user it records a finding through its host. */
  function detector(): Sink {
    let host: SinkHost | undefined;
    const failures = new Map<string, number>();
    return {
      name: 'detector',
      attach: (h) => void (host = h),
      write(batch) {
        for (const e of batch.events) {
          if (e.type !== 'authn.login.failure' || e.user?.id === undefined) continue;
          const n = (failures.get(e.user.id) ?? 0) + 1;
          failures.set(e.user.id, n);
          if (n === 3)
            host!.record({ type: 'authn.brute_force.detected', user: { id: e.user.id } });
        }
      },
    };
  }

  test('record() sends a sink’s own event to every sink, labelled as the auditor’s own', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'authtrail-host-')), 'audit.jsonl');
    const auditor = createAuditor({ sinks: [detector(), fileSink(path)], keys: KEY });
    for (let i = 0; i < 3; i++)
      auditor.record({
        type: 'authn.login.failure',
        reason: 'invalid_credentials',
        user: { id: 'eve' },
      });
    await auditor.flush();
    await auditor.close();

    const written = lines(path);
    expect(written.map((e) => [e.type, e.user?.id, e.observer.adapter])).toEqual([
      ['authn.login.failure', 'eve', 'core'],
      ['authn.login.failure', 'eve', 'core'],
      ['authn.login.failure', 'eve', 'core'],
      ['authn.brute_force.detected', 'eve', 'core'],
    ]);
    expect(written[3]!.outcome).toBe('detected');
    expect(auditor.stats()).toMatchObject({ failed: 0, dropped: 0 });
  });
});
