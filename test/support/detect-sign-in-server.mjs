// Child process of test/detect-sign-in.e2e.test.ts (jest cannot load the ESM-only oidc-provider in
// process): the testbed's OpenID Provider with its own sign-in form (`signIn`), audited to
// AUDIT_FILE with a detectors() sink beside the file sink, alerting WEBHOOK_URL. The first stdout line is
// { ready: { issuer, control } }; GET <control>/events flushes the auditor and answers with the
// audit file, GET <control>/raw with its text as a JSON string as it is now (no flush: what the
// sinks were handed so far).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileSink } from '@authtrail/core';
import { startProvider } from '@authtrail/testbed/stack.mjs';
import { detectors, webhookAlert } from '@authtrail/detect';

const file = process.env.AUDIT_FILE;
const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));

const op = await startProvider({
  rpUrl: 'http://127.0.0.1:9',
  // Alerts go at once (no group wait) to the test's webhook receiver, signed with its secret.
  sinks: [
    fileSink(file),
    detectors({
      alerts: {
        to: [webhookAlert({ url: process.env.WEBHOOK_URL, secret: process.env.WEBHOOK_SECRET })],
        groupWaitMs: 0,
      },
    }),
  ],
});
const control = await listen(
  createServer(async (req, res) => {
    if (req.url !== '/events' && req.url !== '/raw') return res.writeHead(404).end();
    if (req.url === '/events') await op.auditor.flush();
    const text = await readFile(file, 'utf8').catch(() => '');
    res.end(req.url === '/raw' ? JSON.stringify(text) : text);
  }),
);
const controlUrl = `http://127.0.0.1:${control.address().port}`;
process.stdout.write(JSON.stringify({ ready: { issuer: op.issuer, control: controlUrl } }) + '\n');
process.on('SIGTERM', async () => {
  control.closeAllConnections();
  await op.close();
  process.exit(0);
});
