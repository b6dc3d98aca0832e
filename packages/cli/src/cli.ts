// authtrail <command>: tools for audit logs written by authtrail.
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ChainVerifier,
  DEFAULT_EPOCH_MS,
  MAX_EPOCH_MS,
  MIN_EPOCH_MS,
  chainKeyId,
  formatSeed,
  parseSeed,
  setupSealing,
  type ChainKey,
  type ChainReport,
  type SealingSeed,
} from '@authtrail/core';

const USAGE = `Usage: authtrail verify <files...> [--key-file <path> | --key <secret>] [--seed-file <path>]
                        [--allow-open] [--anchors <path>] [--json]
       authtrail keys --setup <state file or directory> [--interval <duration>]

  Checks the hash chain of audit logs written with keys.chain and reports OK, or the first
  modified, deleted, inserted, reordered, truncated or replayed event (or run) with its file and
  line. Give every file of a log, oldest first (e.g. audit.jsonl.2 audit.jsonl.1 audit.jsonl).

  --key-file <path>  file holding the chain key, or one "<id>=<key>" line per key of a rotation;
                     may be repeated (preferred: a key on the command line shows in ps)
  --key <secret>     the chain key itself (or "<id>=<key>"), may be repeated;
                     AUTHTRAIL_CHAIN_KEY is read when neither is given
  --seed-file <path> file holding the verification seed of a sealed chain (printed by
                     authtrail keys --setup), one per line; may be repeated
  --allow-open       accept the newest run without its closing checkpoint (a service still
                     writing); an older run is never accepted open
  --anchors <path>   the heads sent to chainAnchor's destination (JSON lines), may be repeated:
                     the log must reach every one of them
  --json             print the report as JSON

  keys --setup writes a sealing state (mode 0600, never over an existing one) for
  keys.chain: { sealing: <file> }; given a directory, the file is <dir>/authtrail.seal.
  The key in it moves on every epoch and the old one is erased, so whoever takes the host
  later cannot rewrite what earlier epochs sealed. It prints the verification seed once, on
  standard output: keep it off this host, and give it to verify with --seed-file.

  --interval <d>     epoch length: a number with ms, s, m, h or d (default 15m; 1s to 7d)

Exit status: 0 verified (or set up), 1 a problem was found, 2 usage or read error.`;

class UsageError extends Error {}

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

// Control characters (ESC, CR ...), bidirectional and other invisible format marks, line separators
// and unassigned code points: a log line could use them to repaint the terminal (a forged "OK").
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu;

/** Text read from a file, safe to print: what cannot be shown as it is becomes `\u{..}`. */
function printable(text: string): string {
  return text
    .replaceAll('\\', '\\\\')
    .replace(UNPRINTABLE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/** JSON with every character a terminal could act on escaped (JSON.stringify leaves C1 and bidi raw). */
// JSON.stringify escapes C0 controls already; its own newlines (between fields) stay.
const UNPRINTABLE_IN_JSON = /[\u007f-\u009f\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu;

function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNPRINTABLE_IN_JSON, (c) => {
    let out = '';
    for (let i = 0; i < c.length; i++) out += '\\u' + c.charCodeAt(i).toString(16).padStart(4, '0');
    return out;
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

async function verify(args: string[]): Promise<number> {
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
function keys(args: string[]): number {
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

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'verify') return verify(rest);
  if (command === 'keys') return keys(rest);
  if (command === undefined || command === '--help' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command === undefined ? 2 : 0;
  }
  throw new UsageError(`unknown command "${command}"`);
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `authtrail: ${printable(message)}\n${error instanceof UsageError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? `\n${USAGE}\n` : ''}`,
    );
    process.exitCode = 2;
  },
);
