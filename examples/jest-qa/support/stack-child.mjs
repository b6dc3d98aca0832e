// The demo stack in a process of its own: jest on Node 20 cannot load it (express-openid-connect
// requires the ESM-only openid-client, which jest's module runtime cannot require before Node 24.9).
// Every batch its auditors write goes back to the test process over IPC, as it was written.
import { startStack } from '@authtrail/testbed/stack.mjs';

const ipcSink = {
  name: 'ipc',
  write: (batch) => void process.send({ batch: { events: batch.events, lines: batch.lines() } }),
};
const stack = await startStack({ sinks: [ipcSink] });

process.on('message', async (message) => {
  if (message.flush !== undefined) {
    await stack.flush();
    // IPC keeps order: every batch flushed above reaches the test process before this answer.
    process.send({ flushed: message.flush });
  } else if (message.close) {
    await stack.close();
    process.disconnect();
  }
});
const { rpUrl, issuer, apiUrl } = stack;
process.send({ ready: { rpUrl, issuer, apiUrl } });
