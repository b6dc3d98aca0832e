// The hash chain options shared by `authtrail verify` and `authtrail import`: where the keys and
// seeds come from, and how a report reads on a terminal.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import {
  ChainVerifier,
  chainKeyId,
  parseSeed,
  type ChainKey,
  type ChainReport,
  type SealingSeed,
} from '@authtrail/core';
import { UsageError, printable } from './terminal.js';

/** The options naming the chain's keys, seeds and anchors (parseArgs). */
export const CHAIN_OPTIONS = {
  key: { type: 'string', multiple: true },
  'key-file': { type: 'string', multiple: true },
  'seed-file': { type: 'string', multiple: true },
  'allow-open': { type: 'boolean' },
  anchors: { type: 'string', multiple: true },
} as const;

export interface ChainValues {
  key?: string[];
  'key-file'?: string[];
  'seed-file'?: string[];
  'allow-open'?: boolean;
  anchors?: string[];
}

// `<id>=<key>`: a key of a rotation with its id. Anything else is a key alone, whose id the
// verifier derives as the auditor does (a base64 key's `=` padding is at its end, so never matches).
const KEY_WITH_ID = /^([\w.-]{1,64})=(.{32,})$/s;

function readSeeds(files: string[] = []): SealingSeed[] {
  return files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .filter((line) => line.trim() !== '')
      .map((line, i) => {
        const seed = parseSeed(line);
        // Where, never what: the line is a secret.
        if (!seed)
          throw new UsageError(
            `${file}:${i + 1} is not a verification seed (authtrail-seed-v1:..., as printed by authtrail keys --setup)`,
          );
        return seed;
      }),
  );
}

function readKeys(values: ChainValues, optional: boolean): ChainKey[] {
  const texts = [
    ...(values['key-file'] ?? []).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split(/\r?\n/)
        .filter((line) => line !== ''),
    ),
    ...(values.key ?? []),
  ];
  if (texts.length === 0 && process.env.AUTHTRAIL_CHAIN_KEY !== undefined)
    texts.push(process.env.AUTHTRAIL_CHAIN_KEY);
  if (texts.length === 0 && !optional)
    throw new UsageError(
      'no key: give --key-file <path>, --key <secret>, AUTHTRAIL_CHAIN_KEY or --seed-file <path>',
    );
  return texts.map((text) => {
    const match = KEY_WITH_ID.exec(text);
    const key = Buffer.from(match ? match[2]! : text);
    // The length only: never a byte of the key.
    if (key.length < 32)
      throw new UsageError(`a key has ${key.length} bytes; chain keys have at least 32`);
    return { id: match ? match[1]! : chainKeyId(key), key };
  });
}

/** Whether the command line (or AUTHTRAIL_CHAIN_KEY) names a key or a seed: `import` verifies only then. */
export function chainKeyGiven(values: ChainValues): boolean {
  return (
    (values.key?.length ?? 0) > 0 ||
    (values['key-file']?.length ?? 0) > 0 ||
    (values['seed-file']?.length ?? 0) > 0 ||
    process.env.AUTHTRAIL_CHAIN_KEY !== undefined
  );
}

/** A verifier with the keys and seeds the options name (a usage error when there are none). */
export function chainVerifier(values: ChainValues): ChainVerifier {
  const seeds = readSeeds(values['seed-file']);
  return new ChainVerifier(readKeys(values, seeds.length > 0), {
    allowOpen: values['allow-open'],
    seeds,
  });
}

/** The verifier's report, a log without a single chained event being a failure (nothing was checked). */
export function chainReport(verifier: ChainVerifier, files: string[]): ChainReport {
  const report = verifier.report();
  if (report.events === 0 && report.ok) {
    report.ok = false;
    report.problem = {
      kind: 'truncated',
      file: files[0]!,
      line: 1,
      message: 'no chained events: the files are empty, or they were written without keys.chain',
    };
  }
  return report;
}

/** The report as a terminal shows it, each line starting with `title` (`authtrail verify`). */
export function describeChain(report: ChainReport, files: string[], title: string): string {
  const names = files.map((f) => printable(basename(f))).join(', ');
  if (report.ok) {
    const open = report.chains.filter((c) => !c.closed).length;
    const gone = report.chains.filter((c) => c.predecessor === 'absent').length;
    return (
      `${title}: OK, ${report.events} events in ${report.chains.length} chain(s)` +
      `${open ? `, ${open} still open` : ''}` +
      `${report.anchors ? `, ${report.anchors} anchored head(s) reached` : ''} (${names})` +
      (gone
        ? `\n  the oldest run present links to ${gone === 1 ? 'a run' : `${gone} runs`} no longer ` +
          'given (removed by retention, or not given)'
        : '')
    );
  }
  const p = report.problem!;
  const epoch = p.epoch !== undefined ? `, epoch ${p.epoch}` : '';
  const where =
    p.seq !== undefined ? ` (chain ${printable(p.chain ?? '')}, seq ${p.seq}${epoch})` : '';
  return (
    `${title}: FAILED\n  ${printable(p.file)}:${p.line}: ${p.kind}${where}: ` + printable(p.message)
  );
}
