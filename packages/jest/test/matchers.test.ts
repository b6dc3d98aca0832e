import { memorySink, type AuditEvent } from '@authtrail/core';
import {
  authtrailMatchers,
  createTestAuditor,
  createTestIssuer,
  waitForAuditEvent,
} from '@authtrail/jest';

expect.extend(authtrailMatchers);

/** The failure message of an async matcher that should fail. */
async function failure(assertion: Promise<unknown>): Promise<string> {
  try {
    await assertion;
  } catch (err) {
    // Strip colours so the assertions read plainly.
    return (err as Error).message.replace(/\x1b\[[0-9;]*m/g, '');
  }
  throw new Error('expected the matcher to fail');
}

function recorded() {
  const audit = createTestAuditor();
  audit.auditor.record({ type: 'authn.login_start.success', client: { id: 'shop' } });
  audit.auditor.record({ type: 'authn.login.failure', reason: 'state_mismatch' });
  audit.auditor.record({ type: 'authn.login.success', user: { id: 'alice' } });
  audit.auditor.record({ type: 'api.access.success', user: { id: 'alice' } });
  audit.auditor.record({ type: 'api.authn.failure', reason: 'token_expired', user: { id: 'bob' } });
  return audit;
}

describe('createTestAuditor', () => {
  test('rejects broken options with the typed startup error naming each option', () => {
    expect(() => createTestAuditor({ clock: 'soon' as never, ids: 'random' as never })).toThrow(
      expect.objectContaining({
        code: 'ERR_AUTHTRAIL_INVALID_OPTIONS',
        message: expect.stringMatching(/clock[\s\S]*ids/),
      }),
    );
  });

  test('gives reproducible times and ids on request, restarting at clear()', async () => {
    const audit = createTestAuditor({
      clock: new Date('2025-01-01T00:00:00.000Z'),
      ids: 'sequential',
    });
    audit.auditor.record({ type: 'authn.login.success' });
    audit.auditor.record({ type: 'authn.logout.success' });
    await audit.flush();
    expect(audit.events.map((e) => [e.id, e.time])).toEqual([
      ['00000000-0000-7000-8000-000000000001', '2025-01-01T00:00:00.000Z'],
      ['00000000-0000-7000-8000-000000000002', '2025-01-01T00:00:00.001Z'],
    ]);
    expect(audit.text()).toContain('"id":"00000000-0000-7000-8000-000000000002"');
    audit.clear();
    audit.auditor.record({ type: 'authn.login.success' });
    await audit.flush();
    expect(audit.events.map((e) => [e.id, e.time])).toEqual([
      ['00000000-0000-7000-8000-000000000001', '2025-01-01T00:00:00.000Z'],
    ]);
  });

  test('a clock function sets the time and the UUIDv7 follows it', async () => {
    const audit = createTestAuditor({ clock: () => Date.UTC(2030, 5, 1) });
    audit.auditor.record({ type: 'authn.login.success' });
    await audit.flush();
    const [event] = audit.events;
    expect(event!.time).toBe('2030-06-01T00:00:00.000Z');
    expect(parseInt(event!.id.replace(/-/g, '').slice(0, 12), 16)).toBe(Date.UTC(2030, 5, 1));
  });

  test('text() holds every byte: its own lines and what added sinks serialised', async () => {
    const audit = createTestAuditor({
      sinks: [{ name: 'upper', write: (batch) => void batch.lines().toUpperCase() }],
    });
    audit.auditor.record({ type: 'authn.login.success', user: { id: 'alice' } });
    await audit.flush();
    const line = JSON.stringify(audit.events[0]) + '\n';
    expect(audit.sink.text()).toBe(line);
    expect(audit.text()).toBe(line + line);
  });

  test('captures events that other auditors write to its sink, flushing them when tracked', async () => {
    const audit = createTestAuditor();
    const other = createTestAuditor({ sinks: [audit.sink] });
    audit.track(other.auditor);
    other.auditor.record({ type: 'oauth.token_issue.success' });
    await expect(audit).toHaveAuditEvent('oauth.token_issue.success');
  });
});

describe('toHaveAuditEvent', () => {
  test('passes on a partial deep match, asymmetric matchers included', async () => {
    const audit = recorded();
    await expect(audit).toHaveAuditEvent('api.authn.failure', {
      reason: 'token_expired',
      user: { id: expect.any(String) },
      observer: { role: 'rs' },
    });
    await expect(audit).not.toHaveAuditEvent('api.authn.failure', { reason: 'token_missing' });
  });

  test('fails with the nearest events of the same type as a diff, and the recorded list', async () => {
    const message = await failure(
      expect(recorded()).toHaveAuditEvent('api.authn.failure', { reason: 'token_missing' }),
    );
    expect(message).toContain('Expected an event matching');
    expect(message).toContain('Recorded 5 events:');
    expect(message).toContain('#4 api.authn.failure  (rs, reason=token_expired, user=bob)');
    expect(message).toMatch(
      /Nearest: #4 api\.authn\.failure[\s\S]*- {2,}"reason": "token_missing"/,
    );
    expect(message).toMatch(/\+ {2,}"reason": "token_expired"/);
  });

  test('without an event of that type, the nearest are the closest partial matches', async () => {
    const message = await failure(
      expect(recorded()).toHaveAuditEvent('authn.logout.success', { user: { id: 'alice' } }),
    );
    expect(message).toMatch(/Nearest: #2 authn\.login\.success/);
    expect(message).toMatch(/Nearest: #3 api\.access\.success/);
  });

  test('.not fails naming the event that matched', async () => {
    const message = await failure(expect(recorded()).not.toHaveAuditEvent('authn.login.success'));
    expect(message).toContain('Expected no event matching');
    expect(message).toContain('but #2 does');
  });

  test('sees the event of a request right after the response, because it flushes first', async () => {
    const audit = createTestAuditor();
    audit.auditor.attach('test').observe({
      startTime: Date.now(),
      durationMs: 1,
      method: 'GET',
      url: '/items',
      status: 401,
      headers: {},
    });
    expect(audit.events).toHaveLength(0); // delivery is asynchronous ...
    await expect(audit).toHaveAuditEvent('api.authn.failure', { reason: 'token_missing' });
  });

  test('reads memory sinks and arrays of events, and says what it needs otherwise', async () => {
    const sink = memorySink();
    const audit = createTestAuditor({ sinks: [sink] });
    audit.auditor.record({ type: 'authn.login.success' });
    await audit.flush();
    await expect(sink).toHaveAuditEvent('authn.login.success');
    await expect([...sink.events] as AuditEvent[]).toHaveAuditEvent('authn.login.success');
    const message = await failure(expect({ nope: true }).toHaveAuditEvent('authn.login.success'));
    expect(message).toContain('needs a test auditor');
    await expect(expect(audit).toHaveAuditEvent(42 as never)).rejects.toThrow(
      "the event type must be a string such as 'api.access.success'",
    );
  });
});

describe('toHaveAuditSequence', () => {
  test('passes when the steps come in order with other events in between', async () => {
    const audit = recorded();
    await expect(audit).toHaveAuditSequence([
      'authn.login_start.success',
      { type: 'authn.login.success', user: { id: 'alice' } },
      'api.authn.failure',
    ]);
    await expect(audit).not.toHaveAuditSequence(['api.access.success', 'authn.login.success']);
  });

  test('fails naming the step that matched nothing, the matched ones, and an out-of-order event', async () => {
    const message = await failure(
      expect(recorded()).toHaveAuditSequence([
        'authn.login.success',
        'api.access.success',
        { type: 'authn.login_start.success', client: { id: 'shop' } },
      ]),
    );
    expect(message).toContain(
      'Steps 1-2 matched; step 3 matches no event after #3 (#0 matches it, but comes too early: out of order?)',
    );
    expect(message).toContain('#2 authn.login.success  (rs, user=alice)   <- step 1');
    expect(message).toContain('#3 api.access.success  (rs, user=alice)   <- step 2');
  });

  test('fails with the nearest events after the last matched step as a diff', async () => {
    const message = await failure(
      expect(recorded()).toHaveAuditSequence([
        'authn.login_start.success',
        { type: 'api.authn.failure', reason: 'signature_invalid' },
      ]),
    );
    expect(message).toContain('Step 1 matched; step 2 matches no event after #0.');
    expect(message).toMatch(/Nearest: #4 api\.authn\.failure[\s\S]*"reason": "signature_invalid"/);
  });
});

describe('toHaveNoSecrets', () => {
  test('catches a raw token a careless sink wrote, and one the kit minted, without printing it whole', async () => {
    const issuer = await createTestIssuer();
    const token = await issuer.token();
    await issuer.close();
    const careless = memorySink();
    const audit = createTestAuditor({ sinks: [careless] });
    audit.auditor.record({ type: 'api.access.success' });
    await audit.flush();
    // A sink fed a raw token: what authtrail must never do, written by hand here.
    careless.write({
      events: [],
      lines: () => `{"type":"api.access.success","authorization":"Bearer ${token}"}\n`,
    });
    const message = await failure(expect(careless).toHaveNoSecrets());
    expect(message).toContain('Expected no secrets, found:');
    expect(message).toContain('a JWT in written line 2');
    expect(message).toContain('a bearer token in written line 2');
    expect(message).toContain('a token minted by the kit in written line 2');
    expect(message).not.toContain(token);
    await expect(audit).toHaveNoSecrets(); // the test auditor itself wrote only clean lines
  });

  test('looks for the secrets given (strings, their long parts, patterns) in event fields', async () => {
    const audit = createTestAuditor();
    audit.auditor.record({ type: 'authn.login.failure', user: { id: 'pw-hunter2-and-more' } });
    const message = await failure(expect(audit).toHaveNoSecrets(['hunter2', /pw-\w+/]));
    expect(message).toContain('secret #1 in event #0 (authn.login.failure) at user.id');
    expect(message).toContain('secret #2 (/pw-\\w+/) in event #0 (authn.login.failure) at user.id');
    const parts = await failure(
      expect(['xx.aaaaaaaaaaaaaaaaaaaa.yy']).toHaveNoSecrets(['1.aaaaaaaaaaaaaaaaaaaa.2']),
    );
    expect(parts).toContain('part of secret #1 in written line 1');
    await expect('clean text').toHaveNoSecrets(['hunter2']);
  });

  test('shows only the length of a short secret it found, and no more than 4 characters of a long one', async () => {
    const short = 'k7Qp2xLm9vRt4wZs'; // 16 characters
    const long = 'Zq8rT3vN6pLx2mK9sW4yB7cD'; // 24 characters
    const audit = createTestAuditor();
    audit.auditor.record({ type: 'authn.login.failure', user: { id: `${short} ${long}` } });
    const message = await failure(expect(audit).toHaveNoSecrets([short, long]));
    expect(message).toContain('secret #1 in event #0 (authn.login.failure) at user.id');
    expect(message).toContain('"16 characters"');
    expect(message).toContain('24 characters, starts \\"Zq8r\\"…');
    // No 3 consecutive characters of the short secret, no 5 of the long one, appear anywhere.
    for (let i = 0; i + 3 <= short.length; i++)
      expect(message).not.toContain(short.slice(i, i + 3));
    for (let i = 0; i + 5 <= long.length; i++) expect(message).not.toContain(long.slice(i, i + 5));
  });
});

describe('waitForAuditEvent', () => {
  test('resolves with the event once it arrives', async () => {
    const audit = createTestAuditor();
    setTimeout(() => audit.auditor.record({ type: 'authn.logout.success' }), 30);
    const event = await waitForAuditEvent(audit, 'authn.logout.success', {}, { timeout: 2000 });
    expect(event.type).toBe('authn.logout.success');
  });

  test('rejects after the timeout with the nearest events', async () => {
    await expect(
      waitForAuditEvent(
        recorded(),
        'api.authn.failure',
        { reason: 'token_missing' },
        { timeout: 50 },
      ),
    ).rejects.toThrow(/no event matching .* within 50 ms[\s\S]*Nearest: #4/);
  });
});
