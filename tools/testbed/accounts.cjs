'use strict';
// Accounts and clients of the demo provider (shared by the demo, the stack and the tests).

/** Demo users of the embedded provider. */
const USERS = {
  alice: {
    password: 'wonderland-7',
    name: 'Alice Liddell',
    email: 'alice@example.com',
    roles: ['admin'],
  },
  bob: { password: 'builder-42', name: 'Bob Builder', email: 'bob@example.com', roles: ['viewer'] },
};

const RP_CLIENT = { id: 'demo-rp', secret: 'demo-rp-secret-5c1e0d8f2b7a4e9c' };
/** A machine client whose access tokens live one second: for expired-token scenarios. */
const SHORT_CLIENT = { id: 'short-lived-client', secret: 'short-lived-secret-0b4f7e2a9d' };
/** A machine client (client credentials) with ordinary token lifetimes. */
const MACHINE_CLIENT = { id: 'demo-machine', secret: 'demo-machine-secret-3c2b1a0f9e8d7c6b' };
/** A confidential client driven with openid-client directly (the tests' provider-side flows). */
const CLI_CLIENT = {
  id: 'demo-cli',
  secret: 'demo-cli-secret-9a8e7d6c5b4a3f2e',
  callbackPath: '/cli-callback',
};
const API_AUDIENCE = 'https://api.demo.example';
const RP_COOKIE_SECRET = 'demo-rp-cookie-secret-7d1f3a9e5b2c8e4a6f0d';
const OP_COOKIE_KEY = 'demo-op-cookie-key-2f9c4e1a7b3d5f8e';
/** authtrail's fingerprint key for the demo services. In production: a secret, e.g. `openssl rand -base64 32`. */
const AUDIT_FINGERPRINT_KEY = 'demo-authtrail-fingerprint-key-4b8e1f6a2c9d';

module.exports = {
  USERS,
  RP_CLIENT,
  SHORT_CLIENT,
  CLI_CLIENT,
  MACHINE_CLIENT,
  API_AUDIENCE,
  RP_COOKIE_SECRET,
  OP_COOKIE_KEY,
  AUDIT_FINGERPRINT_KEY,
};
