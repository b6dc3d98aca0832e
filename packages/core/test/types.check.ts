// Compile-time checks of the public types (run by `tsc -p tsconfig.json` in `npm test`, never executed).
import { createAuditor, EventTypes, Reasons, type AuditEvent, type Sink } from '@authtrail/core';
import { authtrail } from '@authtrail/express';
import type { Request } from 'express';
import type { Context } from 'koa';
import type { FastifyRequest } from 'fastify';
import '@authtrail/koa';
import '@authtrail/fastify';

const auditor = createAuditor({ service: 'svc', routes: { login: '/signin', logout: false } });
auditor.record({ type: EventTypes.LOGIN_FAILURE, reason: Reasons.STATE_MISMATCH });
auditor.record({ type: 'app.custom_thing.success', user: { id: 'u1' } });
const sink: Sink = { name: 'mine', write: (batch) => void batch.lines() };
createAuditor({ sinks: [sink] });
const outcome: AuditEvent['outcome'] = 'detected';
void outcome;
authtrail({ auditor });
authtrail.errors();

// @ts-expect-error a manual event needs a type
auditor.record({ reason: 'x' });
// @ts-expect-error the auditor sets time (and outcome, seq, chain, delivery) itself
auditor.record({ type: 'authn.mfa_verify.success', time: '2020-01-01T00:00:00.000Z' });
// @ts-expect-error outcome is the last word of the type
auditor.record({ type: 'authn.mfa_verify.success', outcome: 'failure' });
const detection = {
  detector: 'brute_force',
  key: 'Zm9vYmFyLWtleWVkLWhhc2g',
  severity: 'high',
  count: 10,
  threshold: 10,
  first: '01938f5e-6b00-7000-8000-0000000000a1',
  last: '01938f5e-79f0-7000-8000-0000000000aa',
} as const;
auditor.record({ type: EventTypes.BRUTEFORCE_DETECTED, detection });
auditor.record({
  type: EventTypes.SPRAY_DETECTED,
  // @ts-expect-error a detection's severity is low, medium, high or critical
  detection: { ...detection, severity: 'urgent' },
});
// @ts-expect-error a detection names the ids of the first and last events of its evidence
auditor.record({ type: EventTypes.SPRAY_DETECTED, detection: { ...detection, last: undefined } });
// @ts-expect-error sinks are Sink objects
createAuditor({ sinks: ['stdout'] });
// @ts-expect-error routes are a preset name or an object
createAuditor({ routes: 'keycloak' });
// A policy: ordered rules, each field one value or a list.
createAuditor({
  policy: [
    { action: 'record', route: '/healthz', outcome: 'failure' },
    { action: 'skip', route: ['/healthz', '/metrics'], type: 'api.*', client: ['probe'] },
  ],
});
// @ts-expect-error a rule's action is 'skip' or 'record'
createAuditor({ policy: [{ action: 'drop', route: '/healthz' }] });
// @ts-expect-error an outcome is success, failure or detected
createAuditor({ policy: [{ action: 'skip', outcome: 'ok' }] });
const skipped: number = auditor.stats().skipped + auditor.stats().skippedByRule.length;
void skipped;
// A chain key alone, or a rotation: the first signs.
createAuditor({ keys: { chain: 'k'.repeat(32) } });
createAuditor({ keys: { chain: [{ id: '2026-12', key: 'k'.repeat(32) }] } });
// @ts-expect-error a key of a rotation has an id
createAuditor({ keys: { chain: [{ key: 'k'.repeat(32) }] } });
// A sealed chain: the state file made by `authtrail keys --setup`.
createAuditor({ keys: { chain: { sealing: '/var/lib/app/authtrail.seal' } } });
// @ts-expect-error the sealing state is a path
createAuditor({ keys: { chain: { sealing: true } } });
// @ts-expect-error outcome is one of three words
const bad: AuditEvent['outcome'] = 'ok';
void bad;

// Route handlers get a recorder: they record, and can neither close the auditor nor read its keys.
export function routeHandlers(req: Request, ctx: Context, request: FastifyRequest): void {
  req.audit.record({ type: EventTypes.LOGIN_FAILURE, reason: Reasons.INVALID_CREDENTIALS });
  ctx.audit.record({ type: 'authn.mfa_verify.success' });
  request.audit.record({ type: 'authn.mfa_verify.success' });
  // @ts-expect-error req.audit cannot close the auditor
  void req.audit.close();
  // @ts-expect-error nor read its options (the keys among them)
  void req.audit.options.chainKey;
  // @ts-expect-error ctx.audit cannot flush or close
  void ctx.audit.flush();
  // @ts-expect-error request.audit has no stats or adapter protocol
  request.audit.observe({});
}
// @ts-expect-error the auditor's options are not public
void auditor.options;
// @ts-expect-error an auditor has no adapter name: adapters attach to it (`auditor.attach('express')`)
createAuditor({ service: 'svc' }, 'express');
const handle = auditor.attach('hono');
handle.observe({ startTime: 0, durationMs: 0, method: 'GET', url: '/', status: 200, headers: {} });
void handle.recorder.record({ type: 'authn.mfa_verify.success' });
