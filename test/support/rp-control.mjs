// What every relying-party test server (a child process of test/support/rp-process.ts) shares: its
// listening helpers, and the control side that tells the test where it is, serves what the auditors
// wrote and what only the server saw, and shuts down on SIGTERM.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';

/** Listens on a free port of 127.0.0.1. */
export const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
export const urlOf = (server) => `http://127.0.0.1:${server.address().port}`;

/**
 * Serves `GET /events` (the audit file, after flushing the RP's and the provider's auditors) and one
 * JSON answer per entry of `extra` (`{ '/secrets': () => [...] }`), prints the `ready` line the test
 * waits for, and closes everything on SIGTERM.
 */
export async function serveControl({ rpServer, rpUrl, op, auditor, file, extra = {} }) {
  const control = await listen(
    createServer(async (req, res) => {
      const answer = extra[req.url];
      if (answer) return res.end(JSON.stringify(answer()));
      if (req.url !== '/events') return res.writeHead(404).end();
      await Promise.all([auditor.flush(), op.auditor.flush()]);
      res.end(await readFile(file, 'utf8').catch(() => ''));
    }),
  );
  process.stdout.write(
    JSON.stringify({ ready: { rpUrl, issuer: op.issuer, control: urlOf(control) } }) + '\n',
  );
  process.on('SIGTERM', async () => {
    rpServer.closeAllConnections();
    control.closeAllConnections();
    await Promise.all([auditor.close(), op.close()]);
    process.exit(0);
  });
}
