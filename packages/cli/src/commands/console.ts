// authtrail console: the console's server on 127.0.0.1 over the store (--store, AUTHTRAIL_STORE,
// else ./.authtrail), signed in with a one-time admin token printed at start. Every call of the
// console is recorded into that same store by an auditor of its own (keys from the environment, as
// any auditor reads them: AUTHTRAIL_FINGERPRINT_KEY, AUTHTRAIL_CHAIN_KEY).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { createAuditor } from '@authtrail/core';
import { STORE_OPTIONS, loadConsole, loadStore, openStore, whole } from '../store.js';
import { CommandError } from '../terminal.js';

/** `authtrail console [--port 0] [--store <url>] [--schema <name>]`. */
export async function consoleCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...STORE_OPTIONS, port: { type: 'string' } },
  });
  const port = whole('port', values.port, 0, 0, 65_535);
  const [{ storeSink }, { consoleHandler }] = await Promise.all([loadStore(), loadConsole()]);
  // It writes its access events into the store it shows: opened for writing.
  const store = await openStore(values, { write: true });
  const auditor = createAuditor({
    service: 'authtrail-console',
    sinks: [storeSink(store, { closeStore: false })],
    // Its events fingerprint no token: without AUTHTRAIL_FINGERPRINT_KEY a key of its own spares
    // the warning meant for apps whose fingerprints must match across instances.
    keys: process.env.AUTHTRAIL_FINGERPRINT_KEY ? undefined : { fingerprint: randomBytes(32) },
    // This command closes the auditor itself on SIGINT / SIGTERM, after the server.
    delivery: { handleSignals: false },
  });
  // 256 random bits, printed once; the first sign-in spends it.
  const token = randomBytes(32).toString('base64url');
  const handler = consoleHandler({ store, auditor, adminToken: token });
  const server = createServer((req, res) => handler(req, res));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    await auditor.close();
    await store.close();
    const code = (error as NodeJS.ErrnoException).code;
    throw new CommandError(
      `authtrail console: cannot listen on 127.0.0.1:${port} (${code ?? 'error'}): give another --port, or 0 for any free one`,
      1,
    );
  }
  const { port: bound } = server.address() as { port: number };
  process.stderr.write(
    'authtrail console: open this link once to sign in as admin (it works once; restart for a new one).\n' +
      'Stop with Ctrl-C.\n',
  );
  process.stdout.write(`http://127.0.0.1:${bound}/login?token=${token}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  handler.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await auditor.close();
  await store.close();
  return 0;
}
