/**
 * Every key authtrail puts on objects it does not own: requests, options, `globalThis`. Registered
 * symbols (`Symbol.for`), so that two copies of authtrail in one process (the ESM and the CommonJS
 * build, or two versions) read and write the same slots.
 */

/** Option key: the adapter that creates an auditor names the auditor's own events after itself. */
export const ADAPTER_KEY: unique symbol = Symbol.for('authtrail.adapter');
/** Request key: the error a request failed with, noted by an adapter's error hook. */
export const ERROR_KEY: unique symbol = Symbol.for('authtrail.error');
/** Request key: who a logout signed out, kept before the RP library cleared the session. */
export const SESSION_KEY: unique symbol = Symbol.for('authtrail.session');
/**
 * Recorder key: records a relying party's own token refresh (`RefreshFacts`). On the recorder an
 * adapter hands route handlers, so that an integration holding only the request finds its auditor.
 */
export const REFRESH_KEY: unique symbol = Symbol.for('authtrail.refresh');
/** Request key: the login transaction an RP's session held on a callback (see `keepTransactionOnAssign`). */
export const TRANSACTION_KEY: unique symbol = Symbol.for('authtrail.transaction');
/** Request key: an adapter's per-request state, in one object (Fastify copies each decorator). */
export const STATE_KEY: unique symbol = Symbol.for('authtrail.state');
/** `globalThis` key: the one shutdown registry of the process (delivery/shutdown.ts). */
export const SHUTDOWN_KEY: unique symbol = Symbol.for('authtrail.shutdown');
/**
 * Request key: the sign-in guard refused this request (the seconds of the lock): its
 * `authn.login.failure` says `account_locked`, not `invalid_credentials`.
 */
export const LOCKED_KEY: unique symbol = Symbol.for('authtrail.locked');
