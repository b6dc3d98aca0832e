// Child process of test/readme.test.ts: the demo's OpenID Provider, for the README's Express
// example (jest cannot load the ESM-only oidc-provider in process). Its client `demo-rp` redirects
// to RP_URL/callback. Prints one line, { "issuer": "http://127.0.0.1:<port>" }, then serves until
// killed. Its own audit events stay in memory: this process is not under test.
import { memorySink } from '@authtrail/core';
import { startProvider } from '@authtrail/testbed/stack.mjs';

const op = await startProvider({ rpUrl: process.env.RP_URL, sinks: [memorySink()] });
process.stdout.write(JSON.stringify({ issuer: op.issuer }) + '\n');
