// Forward-secure sealing end to end: `authtrail keys --setup` (a real child process) writes the
// sealing state, a real auditor seals a log through a real file sink while its clock crosses epoch
// boundaries, and `authtrail verify --seed-file` checks it. Then an intruder who took the host, and
// so holds the sealing state as it is now, tries to rewrite events of an earlier epoch.
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect, promisify } from 'node:util';
import {
  createAuditor,
  fileSink,
  memorySink,
  type AuditEvent,
  type AuthtrailError,
} from '@authtrail/core';

const run = promisify(execFile);
const CLI = join(__dirname, '..', 'dist', 'cli.js');
const EPOCH_MS = 10_000;
const fingerprint = 'sealing-test-fingerprint-0123456789abcdef';
const delivery = { handleSignals: false } as const;
const newDir = () => mkdtempSync(join(tmpdir(), 'authtrail-seal-'));

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args]);
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

interface State {
  id: string;
  start: number;
  epochMs: number;
  epoch: number;
  key: string;
}
const readState = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as State;

/** The documented derivation: k(e+1) = HMAC-SHA-256(k(e), 'authtrail seal epoch'). */
const evolve = (key: Buffer) => createHmac('sha256', key).update('authtrail seal epoch').digest();

/** Sets up a sealing state with the real CLI; returns its path, the seed file and the state. */
async function setup(dir: string, interval = '10s') {
  const state = join(dir, 'authtrail.seal');
  const { code, out } = await cli('keys', '--setup', state, '--interval', interval);
  expect(code).toBe(0);
  const seedFile = join(dir, 'seed.txt');
  writeFileSync(seedFile, out, { mode: 0o600 });
  return { state, seedFile, seed: out.trim(), initial: readState(state) };
}

/**
 * Writes a sealed log: `perEpoch` manual events in each epoch from `from` to `to`, the auditor's
 * clock set inside each epoch in turn. `onEpoch` runs once an epoch's events are written.
 */
async function writeSealed(
  dir: string,
  state: string,
  opts: { from?: number; to: number; perEpoch?: number; onEpoch?: (epoch: number) => void },
) {
  const { start } = readState(state);
  const log = join(dir, 'audit.jsonl');
  let now = start + (opts.from ?? 0) * EPOCH_MS + 100;
  const auditor = createAuditor({
    service: 'sealing-test',
    sinks: [fileSink(log)],
    keys: { chain: { sealing: state }, fingerprint },
    clock: () => now,
    delivery,
  });
  for (let epoch = opts.from ?? 0; epoch <= opts.to; epoch++) {
    now = start + epoch * EPOCH_MS + 100;
    for (let i = 0; i < (opts.perEpoch ?? 3); i++) {
      auditor.record({ type: 'app.payout.success', user: { id: `user-${epoch}-${i}` } });
      await auditor.flush();
    }
    opts.onEpoch?.(epoch);
  }
  await auditor.close();
  return log;
}

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').slice(0, -1);
const parse = (path: string) => lines(path).map((l) => JSON.parse(l) as AuditEvent);

describe('authtrail keys --setup', () => {
  test('writes the sealing state with mode 0600 and prints the seed once, which the state does not hold', async () => {
    const dir = newDir();
    const { state, seed, initial } = await setup(dir, '15m');
    expect(statSync(state).mode & 0o777).toBe(0o600);
    expect(seed).toMatch(/^authtrail-seed-v1:seal-[\w-]{8}:\d+:900000:[\w-]{43}$/);
    const seedKey = seed.split(':')[4]!;
    expect(readFileSync(state, 'utf8')).not.toContain(seedKey);
    // Epoch 0's key is derived from the seed: whoever takes the host never holds the seed.
    expect(initial).toMatchObject({ id: seed.split(':')[1], epoch: 0, epochMs: 900_000 });
    expect(initial.key).toBe(evolve(Buffer.from(seedKey, 'base64url')).toString('base64url'));
  });

  test('never replaces an existing state, takes a directory, and refuses an epoch out of range', async () => {
    const dir = newDir();
    const { state } = await setup(dir);
    const before = readFileSync(state, 'utf8');
    const again = await cli('keys', '--setup', state);
    expect(again.code).toBe(2);
    expect(again.err).toContain('exists: a sealing state is never replaced');
    expect(again.out).toBe('');
    expect(readFileSync(state, 'utf8')).toBe(before);

    const inDir = join(dir, 'sub');
    mkdirSync(inDir);
    expect((await cli('keys', '--setup', inDir)).code).toBe(0);
    expect(readState(join(inDir, 'authtrail.seal')).epochMs).toBe(900_000);

    const tooShort = await cli('keys', '--setup', join(dir, 'other'), '--interval', '10ms');
    expect(tooShort.code).toBe(2);
    expect(tooShort.err).toContain('--interval must be from 1s to 7d');
  });
});

describe('a sealed log', () => {
  test('written across four epochs verifies with the seed; each new epoch starts with the seal of the one before', async () => {
    const dir = newDir();
    const { state, seedFile } = await setup(dir);
    const log = await writeSealed(dir, state, { to: 3 });
    const events = parse(log);
    expect(events.map((e) => e.chain!.epoch)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3]);
    expect(events.map((e) => e.chain!.seal !== undefined)).toEqual([
      ...[false, false, false, true, false, false, true, false, false, true, false, false, false],
    ]);
    const { code, out } = await cli('verify', log, '--seed-file', seedFile);
    expect(out).toContain('OK, 13 events in 1 chain(s)');
    expect(code).toBe(0);
  });

  test('an event altered in place is reported modified, naming its epoch; a plain key or another seed does not verify it', async () => {
    const dir = newDir();
    const { state, seedFile } = await setup(dir);
    const log = await writeSealed(dir, state, { to: 2 });
    const altered = join(dir, 'altered.jsonl');
    writeFileSync(
      altered,
      lines(log)
        .map((l, i) => (i === 4 ? l.replace('user-1-1', 'user-1-X') : l))
        .join('\n') + '\n',
    );
    const bad = await cli('verify', altered, '--seed-file', seedFile);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/altered\.jsonl:5: modified \(chain [\w-]+, seq 5, epoch 1\)/);
    expect(bad.out).toContain('does not match its hash under the key of epoch 1');

    const other = newDir();
    const { seedFile: otherSeed } = await setup(other);
    const wrongSeed = await cli('verify', log, '--seed-file', otherSeed);
    expect(wrongSeed.code).toBe(1);
    expect(wrongSeed.out).toContain('no seed for it was given');
    const plainKey = await cli('verify', log, '--key', 'x'.repeat(32));
    expect(plainKey.code).toBe(1);
    const nothing = await cli('verify', log);
    expect(nothing.code).toBe(2);
    expect(nothing.err).toContain('--seed-file');
  });

  test('a line claiming an epoch that has not begun is refused as it is, without deriving keys up to it', async () => {
    const dir = newDir();
    const { state, seedFile } = await setup(dir);
    const log = await writeSealed(dir, state, { to: 0 });
    const far = join(dir, 'far.jsonl');
    writeFileSync(
      far,
      lines(log)
        .map((l, i) => (i === 1 ? l.replace('"epoch":0', '"epoch":1000000000000') : l))
        .join('\n') + '\n',
    );
    const { code, out } = await cli('verify', far, '--seed-file', seedFile, '--json');
    expect(code).toBe(1);
    expect(JSON.parse(out).problem).toMatchObject({
      kind: 'modified',
      line: 2,
      epoch: 1e12,
      message: 'the event claims sealing epoch 1000000000000, which has not begun: it was altered',
    });
  });

  test('a seed file that holds something else is refused by its line, without echoing it', async () => {
    const dir = newDir();
    const { state } = await setup(dir);
    const log = await writeSealed(dir, state, { to: 0 });
    const secretish = 'authtrail-seed-v1:seal-AAAAAAAA:1:1000:c2VjcmV0LWJ1dC1zaG9ydA';
    writeFileSync(join(dir, 'bad-seed.txt'), `${secretish}\n`);
    const { code, err } = await cli('verify', log, '--seed-file', join(dir, 'bad-seed.txt'));
    expect(code).toBe(2);
    expect(err).toContain('bad-seed.txt:1 is not a verification seed');
    expect(err).not.toContain('c2VjcmV0');
  });
});

describe('forward security', () => {
  test('the state file no longer holds the key of an epoch once the next one began', async () => {
    const dir = newDir();
    const { state, initial } = await setup(dir);
    const key0 = Buffer.from(initial.key, 'base64url');
    const key1 = evolve(key0);
    const seen: Record<number, Buffer> = {};
    await writeSealed(dir, state, { to: 2, onEpoch: (e) => (seen[e] = readFileSync(state)) });
    // Read as bytes: neither the old key's text nor its raw bytes are anywhere in the file.
    for (const [epoch, bytes] of Object.entries(seen)) {
      const text = bytes.toString('latin1');
      expect(JSON.parse(text).epoch).toBe(Number(epoch));
      if (Number(epoch) >= 1) {
        expect(text).not.toContain(key0.toString('base64url'));
        expect(bytes.includes(key0)).toBe(false);
      }
      if (Number(epoch) >= 2) expect(text).not.toContain(key1.toString('base64url'));
    }
    expect(readState(state).key).toBe(evolve(key1).toString('base64url'));
  });

  test("a temporary state left by a writer that died before its rename (it holds a key) is removed at the next start; a live writer's is left alone", async () => {
    const dir = newDir();
    const { state, initial } = await setup(dir);
    const dead = `${state}.2147483646.tmp`; // no such pid
    const live = `${state}.${process.ppid}.tmp`;
    writeFileSync(dead, JSON.stringify(initial), { mode: 0o600 });
    writeFileSync(live, JSON.stringify(initial), { mode: 0o600 });
    await writeSealed(dir, state, { to: 0, perEpoch: 1 });
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  test('an idle auditor moves the key on at the epoch boundary by itself', async () => {
    const dir = newDir();
    const { state, initial } = await setup(dir, '1s');
    const auditor = createAuditor({
      sinks: [fileSink(join(dir, 'audit.jsonl'))],
      keys: { chain: { sealing: state }, fingerprint },
      delivery,
    });
    // No event is recorded: the timer alone must erase epoch 0's key (polled, not timed).
    const deadline = Date.now() + 10_000;
    while (readState(state).epoch === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await auditor.close();
    expect(readState(state).epoch).toBeGreaterThanOrEqual(1);
    expect(readFileSync(state, 'utf8')).not.toContain(initial.key);
  });

  test('an intruder holding the state of epoch 2 cannot rewrite an epoch-1 event with any key it can derive', async () => {
    const dir = newDir();
    const { state, seedFile } = await setup(dir);
    let stolen: State | undefined;
    const log = await writeSealed(dir, state, {
      to: 3,
      onEpoch: (e) => (stolen ??= e === 2 ? readState(state) : undefined),
    });
    expect(stolen!.epoch).toBe(2);
    expect((await cli('verify', log, '--seed-file', seedFile)).code).toBe(0);

    // Every key the intruder can have: epoch 2's, and the ones after it.
    const keys = new Map<number, Buffer>([[2, Buffer.from(stolen!.key, 'base64url')]]);
    for (let e = 3; e <= 5; e++) keys.set(e, evolve(keys.get(e - 1)!));
    const original = parse(log);
    const target = original.findIndex((e) => e.user?.id === 'user-1-1');
    expect(original[target]!.chain!.epoch).toBe(1);

    // Each attempt with what gives it away: the hash, the missing seal of epoch 1, the time.
    const attempts: [string, string[], string][] = [];
    for (const epoch of keys.keys()) {
      // In place: the event keeps epoch 1 and is hashed with a later key.
      attempts.push([
        `in place, key of epoch ${epoch}`,
        forge(original, target, target, epoch, keys, 'keep'),
        'does not match its hash under the key of epoch 1',
      ]);
      // Sealed again: from the event on, everything of an earlier epoch moves to this one.
      attempts.push([
        `resealed from the event, epoch ${epoch}`,
        forge(original, target, target, epoch, keys, 'move'),
        'epoch 1 ends here without its seal',
      ]);
      // The whole chain from its start, so that no seal of an old epoch is needed.
      attempts.push([
        `whole chain resealed, epoch ${epoch}`,
        forge(original, 0, target, epoch, keys, 'move'),
        'the chain was sealed again later',
      ]);
    }
    for (const [name, forged, reason] of attempts) {
      const file = join(dir, 'forged.jsonl');
      writeFileSync(file, forged.join('\n') + '\n');
      const { code, out } = await cli('verify', file, '--seed-file', seedFile);
      expect([name, code, out]).toEqual([name, 1, expect.stringContaining(': modified (')]);
      expect([name, out]).toEqual([name, expect.stringContaining(reason)]);
    }
  });

  test('a late start moves the state forward to the current epoch at once, and the log verifies', async () => {
    const dir = newDir();
    const { state, seedFile, initial } = await setup(dir);
    const now = initial.start + 5 * EPOCH_MS + 100;
    const log = join(dir, 'audit.jsonl');
    const auditor = createAuditor({
      sinks: [fileSink(log)],
      keys: { chain: { sealing: state }, fingerprint },
      clock: () => now,
      delivery,
    });
    // Before any event: the key of epochs 0 to 4 is gone from the disk already.
    expect(readState(state).epoch).toBe(5);
    expect(readState(state).key).not.toBe(initial.key);
    auditor.record({ type: 'app.payout.success', user: { id: 'late' } });
    await auditor.close();
    expect(parse(log).map((e) => e.chain!.epoch)).toEqual([5, 5]);
    expect((await cli('verify', log, '--seed-file', seedFile)).code).toBe(0);
  });

  test('a clock that goes back never moves the key back: later events stay in the epoch reached', async () => {
    const dir = newDir();
    const { state, seedFile, initial } = await setup(dir);
    let now = initial.start + 3 * EPOCH_MS + 100;
    const log = join(dir, 'audit.jsonl');
    const auditor = createAuditor({
      sinks: [fileSink(log)],
      keys: { chain: { sealing: state }, fingerprint },
      clock: () => now,
      delivery,
    });
    auditor.record({ type: 'app.payout.success', user: { id: 'before' } });
    await auditor.flush();
    now = initial.start + 1 * EPOCH_MS + 100;
    auditor.record({ type: 'app.payout.success', user: { id: 'after' } });
    await auditor.close();
    expect(parse(log).map((e) => e.chain!.epoch)).toEqual([3, 3, 3]);
    expect(readState(state).epoch).toBe(3);
    expect(await cli('verify', log, '--seed-file', seedFile)).toMatchObject({ code: 0 });
  });
});

test('a state that cannot be rewritten later is published on authtrail:error without a byte of a key, and the key moves on regardless', async () => {
  const dir = newDir();
  const { state, seedFile, initial } = await setup(dir);
  const key1 = evolve(Buffer.from(initial.key, 'base64url')).toString('base64url');
  let now = initial.start + 100;
  const published: unknown[] = [];
  const onError = (message: unknown) => published.push(message);
  subscribe('authtrail:error', onError);
  try {
    const log = join(dir, 'audit.jsonl');
    const auditor = createAuditor({
      sinks: [fileSink(log)],
      keys: { chain: { sealing: state }, fingerprint },
      clock: () => now,
      delivery,
    });
    const record = async (id: string) => {
      auditor.record({ type: 'app.payout.success', user: { id } });
      await auditor.flush();
    };
    await record('epoch-0');
    // Something in the way of the rewrite (a directory where its temporary file goes).
    const blocker = `${state}.${process.pid}.tmp`;
    mkdirSync(blocker);
    now += EPOCH_MS;
    await record('epoch-1');
    expect(published).toHaveLength(1);
    const text = inspect(published[0], { depth: 5 });
    expect(text).toContain('EISDIR');
    for (const key of [initial.key, key1]) expect(text).not.toContain(key);
    expect(readState(state).epoch).toBe(0);
    // Once the way is clear, the next epoch's move writes the state again.
    rmdirSync(blocker);
    now += EPOCH_MS;
    await record('epoch-2');
    await auditor.close();
    expect(readState(state).epoch).toBe(2);
    expect(parse(log).map((e) => e.chain!.epoch)).toEqual([0, 1, 2, 2]);
    expect((await cli('verify', log, '--seed-file', seedFile)).code).toBe(0);
  } finally {
    unsubscribe('authtrail:error', onError);
  }
});

describe('a sealing state that cannot be used stops the auditor at startup', () => {
  const make = (state: string) => () =>
    createAuditor({
      sinks: [memorySink()],
      keys: { chain: { sealing: state }, fingerprint },
      delivery,
    });
  function startupError(state: string): AuthtrailError {
    try {
      make(state)();
    } catch (error) {
      return error as AuthtrailError;
    }
    throw new Error('createAuditor did not throw');
  }

  test('a corrupt state names the file and the fix, never a byte of the key', async () => {
    const dir = newDir();
    const { state, initial } = await setup(dir);
    const text = readFileSync(state, 'utf8');
    writeFileSync(state, text.slice(0, text.length - 20), { mode: 0o600 });
    const error = startupError(state);
    expect(error.code).toBe('ERR_AUTHTRAIL_SEALING_STATE');
    expect(error.message).toContain(
      `the sealing state "${state}" is not a sealing state (corrupt or cut short)`,
    );
    expect(error.message).toContain('authtrail keys --setup');
    expect(error.message).not.toContain(initial.key.slice(0, 8));
  });

  test('a missing, world-readable or unwritable state is refused with its own fix', async () => {
    const dir = newDir();
    const missing = startupError(join(dir, 'nope.seal'));
    expect(missing.code).toBe('ERR_AUTHTRAIL_SEALING_STATE');
    expect(missing.message).toContain('cannot be read (ENOENT)');
    expect(missing.message).toContain('authtrail keys --setup');

    const { state, initial } = await setup(dir);
    const { chmodSync } = await import('node:fs');
    chmodSync(state, 0o644);
    const open = startupError(state);
    expect(open.message).toContain('is open to other users (mode 0644)');
    expect(open.message).toContain(`chmod 600 ${state}`);
    chmodSync(state, 0o600);

    // The state is replaced through a temporary file beside it: one that cannot be made (here a
    // directory in its place; permissions do not stop root) means keys could not be erased.
    mkdirSync(`${state}.${process.pid}.tmp`);
    const stuck = startupError(state);
    expect(stuck.code).toBe('ERR_AUTHTRAIL_SEALING_STATE');
    expect(stuck.message).toContain('cannot be rewritten (EISDIR)');
    for (const e of [missing, open, stuck])
      expect(e.message).not.toContain(initial.key.slice(0, 8));
  });

  test('keys.chain.sealing of the wrong shape is an option problem', () => {
    try {
      createAuditor({
        sinks: [memorySink()],
        keys: { chain: { sealing: 42 as unknown as string } },
        delivery,
      });
      throw new Error('did not throw');
    } catch (error) {
      expect((error as AuthtrailError).code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
      expect((error as AuthtrailError).message).toContain(
        'createAuditor({ keys.chain.sealing }): received number 42',
      );
    }
  });
});

// The intruder's tools: the documented hash (HMAC-SHA-256 over the event with its keys sorted and
// chain.hash left out) and epoch seal, computed with the keys it holds.
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const o = value as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}
const mac = (key: Buffer, text: string) =>
  createHmac('sha256', key).update(text).digest('base64url');
function hashOf(key: Buffer, event: AuditEvent): string {
  return mac(key, canonical({ ...event, chain: { ...event.chain!, hash: undefined } }));
}

/**
 * Rewrites `user-1-1` in `events[target]` and re-links the chain from `from` on as well as the
 * intruder can: `'keep'` hashes the changed event under the key of `epoch` as it is; `'move'` puts
 * every event from `from` on that is of an earlier epoch into `epoch`, with the seals it can make.
 */
function forge(
  original: AuditEvent[],
  from: number,
  target: number,
  epoch: number,
  keys: Map<number, Buffer>,
  mode: 'keep' | 'move',
): string[] {
  const events = original.map((e) => structuredClone(e));
  events[target]!.user = { ...events[target]!.user!, id: 'user-1-X' };
  for (let i = from; i < events.length; i++) {
    const chain = events[i]!.chain!;
    if (i > 0) chain.prev = events[i - 1]!.chain!.hash;
    if (mode === 'move' && chain.epoch! < epoch) chain.epoch = epoch;
    const before = i > 0 ? events[i - 1]!.chain!.epoch! : undefined;
    const sealKey = before === undefined ? undefined : keys.get(before);
    const seal =
      before !== undefined && chain.epoch! > before
        ? sealKey
          ? mac(sealKey, `authtrail epoch seal\n${chain.prev}`)
          : chain.seal
        : undefined;
    // In the order authtrail writes it, so that only the keys can tell.
    const { id, prev, kid, run } = chain;
    events[i]!.chain = { id, prev, kid, epoch: chain.epoch, seal, run, hash: '' };
    events[i]!.chain!.hash = hashOf(keys.get(chain.epoch!) ?? keys.get(epoch)!, events[i]!);
  }
  return events.map((e) => JSON.stringify(e));
}
