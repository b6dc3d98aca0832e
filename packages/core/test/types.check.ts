// Compile-time checks of the public types (run by `tsc -p tsconfig.json` in `npm test`, never executed).
import { createAuditor, EventTypes, Reasons, type AuditEvent, type Sink } from '@authtrail/core';
import { authtrail } from '@authtrail/express';

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
// @ts-expect-error sinks are Sink objects
createAuditor({ sinks: ['stdout'] });
// @ts-expect-error routes are a preset name or an object
createAuditor({ routes: 'keycloak' });
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
