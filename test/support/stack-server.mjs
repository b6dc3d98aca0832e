// Child process of the end-to-end tests: runs the demo stack with a file sink and a control
// endpoint, because jest cannot load the ESM-only oidc-provider / openid-client in process.
// GET /events: flushes both auditors, then answers with the raw bytes of the audit file.
// GET /sessions: the tokens of every RP session so far (the tests use them, and search for them).
import { createServer } from 'node:http';
import { fileSink } from '@authtrail/core';
import { startStack } from '@authtrail/example-demo/stack.mjs';
import { readFile } from 'node:fs/promises';

const file = process.env.AUDIT_FILE;
const sessions = [];
const stack = await startStack({
  sinks: [fileSink(file)],
  companion: process.env.STACK_COMPANION !== '0',
  onSession: (session) => sessions.push({ ...session }),
});

const control = createServer(async (req, res) => {
  if (req.url === '/events') {
    await stack.flush();
    const text = await readFile(file, 'utf8').catch(() => '');
    res.end(text);
  } else if (req.url === '/sessions') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(sessions));
  } else {
    res.statusCode = 404;
    res.end();
  }
});
control.listen(0, '127.0.0.1', () => {
  const { rpUrl, issuer, apiUrl } = stack;
  process.stdout.write(
    JSON.stringify({
      ready: { rpUrl, issuer, apiUrl, control: `http://127.0.0.1:${control.address().port}` },
    }) + '\n',
  );
});
process.on('SIGTERM', async () => {
  await stack.close();
  process.exit(0);
});
