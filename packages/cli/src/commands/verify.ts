// authtrail verify: checks the hash chain of audit logs (no store, no network).
import { createReadStream, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ChainVerifier,
  chainKeyId,
  parseSeed,
  type ChainKey,
  type ChainReport,
  type SealingSeed,
} from '@authtrail/core';
import { UsageError, printable, printableJson } from '../terminal.js';

/** Feeds every line of `path` to `onLine`, streaming; the last line is `partial` without a newline. */
async function eachLine(
  path: string,
  onLine: (text: string, line: number, partial: boolean) => void,
): Promise<void> {
  let rest = '';
  let line = 0;
  for await (const chunk of createReadStream(path, { encoding: 'utf8' })) {
    const parts = (rest + (chunk as string)).split('\n');
    rest = parts.pop()!;
    for (const text of parts) onLine(text, ++line, false);
  }
  if (rest !== '') onLine(rest, line + 1, true);
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

function readKeys(
  values: { key?: string[]; 'key-file'?: string[] },
  optional: boolean,
): ChainKey[] {
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

function describe(report: ChainReport, files: string[]): string {
  const names = files.map((f) => printable(basename(f))).join(', ');
  if (report.ok) {
    const open = report.chains.filter((c) => !c.closed).length;
    const gone = report.chains.filter((c) => c.predecessor === 'absent').length;
    return (
      `authtrail verify: OK, ${report.events} events in ${report.chains.length} chain(s)` +
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
    `authtrail verify: FAILED\n  ${printable(p.file)}:${p.line}: ${p.kind}${where}: ` +
    printable(p.message)
  );
}

export async function verify(args: string[]): Promise<number> {
  const { values, positionals: files } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      key: { type: 'string', multiple: true },
      'key-file': { type: 'string', multiple: true },
      'seed-file': { type: 'string', multiple: true },
      'allow-open': { type: 'boolean' },
      anchors: { type: 'string', multiple: true },
      json: { type: 'boolean' },
    },
  });
  if (files.length === 0) throw new UsageError('no files given');
  const seeds = readSeeds(values['seed-file']);
  const verifier = new ChainVerifier(readKeys(values, seeds.length > 0), {
    allowOpen: values['allow-open'],
    seeds,
  });
  for (const file of files) {
    await eachLine(file, (text, line, partial) => verifier.add(text, file, line, partial));
  }
  for (const file of values.anchors ?? []) {
    await eachLine(file, (text, line, partial) => verifier.addAnchor(text, file, line, partial));
  }
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
  process.stdout.write((values.json ? printableJson(report) : describe(report, files)) + '\n');
  return report.ok ? 0 : 1;
}
