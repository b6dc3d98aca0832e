// authtrail keys --setup: the sealing state of a chain on this host.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEFAULT_EPOCH_MS,
  MAX_EPOCH_MS,
  MIN_EPOCH_MS,
  formatSeed,
  setupSealing,
  type SealingSeed,
} from '@authtrail/core';
import { UsageError, printable } from '../terminal.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function duration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  const ms = match ? Number(match[1]) * UNITS[match[2]!]! : NaN;
  if (!(ms >= MIN_EPOCH_MS && ms <= MAX_EPOCH_MS))
    throw new UsageError(
      `--interval must be from 1s to 7d, such as 15m (received ${printable(text)})`,
    );
  return ms;
}

/** `authtrail keys --setup <path>`: the sealing state on this host, the seed on standard output. */
export function keys(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: { setup: { type: 'string' }, interval: { type: 'string' } },
  });
  if (values.setup === undefined)
    throw new UsageError('keys: give --setup <state file or directory>');
  const epochMs = values.interval === undefined ? DEFAULT_EPOCH_MS : duration(values.interval);
  let path = values.setup;
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) path = join(path, 'authtrail.seal');
  let seed: SealingSeed;
  try {
    seed = setupSealing(path, epochMs);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new Error(
        `${path} exists: a sealing state is never replaced (the seed of the logs it sealed would no ` +
          'longer match new ones); remove it yourself to start a new seal, and keep the old seed for the old logs',
        { cause: error },
      );
    throw error;
  }
  process.stderr.write(
    `authtrail: sealing state written to ${printable(path)} (mode 0600, epoch ${epochMs / 1000} s).\n` +
      'Configure the auditor with keys: { chain: { sealing: <that file> } }.\n' +
      'The verification seed follows, on standard output, this once: keep it OFF this host\n' +
      '(whoever holds it can reseal anything) and give it to authtrail verify --seed-file.\n',
  );
  process.stdout.write(formatSeed(seed) + '\n');
  return 0;
}
