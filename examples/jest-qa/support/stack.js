'use strict';
const { fork } = require('node:child_process');
const { join } = require('node:path');

/**
 * Starts the demo stack (provider, relying party, API) in a child process; its audit events flow
 * into `sink` (give it the test auditor's sink). `flush()` resolves once every event the stack
 * recorded so far has arrived: pass the stack to `audit.track()` and the matchers call it.
 */
function startStackProcess(sink) {
  const child = fork(join(__dirname, 'stack-child.mjs'), { execArgv: [], stdio: 'inherit' });
  const flushes = new Map();
  let next = 0;
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the demo stack exited with ${code}`)));
    child.on('message', (message) => {
      if (message.batch) {
        const { events, lines } = message.batch;
        sink.write({ events, lines: () => lines });
      } else if (message.flushed !== undefined) {
        flushes.get(message.flushed)();
        flushes.delete(message.flushed);
      } else if (message.ready) {
        resolve({
          ...message.ready,
          flush: () =>
            new Promise((done) => {
              flushes.set(++next, done);
              child.send({ flush: next });
            }),
          close: () =>
            new Promise((done) => {
              child.removeAllListeners('exit');
              child.once('exit', () => done());
              child.send({ close: true });
            }),
        });
      }
    });
  });
}

module.exports = { startStackProcess };
