// An Express API audited to a file: the parent loads it, then stops it with SIGTERM mid-load.
// argv: <audit file> [own-listener]
import express from 'express';
import { fileSink } from '@authtrail/core';
import { authtrail } from '@authtrail/express';

const [, , path, mode] = process.argv;
const app = express();
app.use(
  authtrail({
    sinks: [fileSink(path)],
    keys: { fingerprint: 'contract-test-fingerprint-key-0123456789' },
    requestIdHeader: 'x-request-id',
  }),
);
app.get('/api/items', (_req, res) => res.json({ items: [] }));
if (mode === 'own-listener') {
  // The app handles SIGTERM itself: authtrail only flushes, the app decides when to go.
  process.on('SIGTERM', () => {
    process.stdout.write('app-sigterm\n');
    setTimeout(() => process.exit(0), 300);
  });
}
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
