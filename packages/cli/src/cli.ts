// authtrail <command>: tools for audit logs written by authtrail.
import { createReadStream, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { ChainVerifier, chainKeyId, type ChainKey, type ChainReport } from '@authtrail/core';

const USAGE = `Usage: authtrail verify <files...> [--key-file <path> | --key <secret>] [--allow-open]
                        [--anchors <path>] [--json]

  Checks the hash chain of audit logs written with keys.chain and reports OK, or the first
  modified, deleted, inserted, reordered, truncated or replayed event (or run) with its file and
  line. Give every file of a log, oldest first (e.g. audit.jsonl.2 audit.jsonl.1 audit.jsonl).

  --key-file <path>  file holding the chain key, or one "<id>=<key>" line per key of a rotation;
                     may be repeated (preferred: a key on the command line shows in ps)
  --key <secret>     the chain key itself (or "<id>=<key>"), may be repeated;
                     AUTHTRAIL_CHAIN_KEY is read when neither is given
  --allow-open       accept the newest run without its closing checkpoint (a service still
                     writing); an older run is never accepted open
  --anchors <path>   the heads sent to chainAnchor's destination (JSON lines), may be repeated:
                     the log must reach every one of them
  --json             print the report as JSON

Exit status: 0 verified, 1 a problem was found, 2 usage or read error.`;

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

function readKeys(values: { key?: string[]; 'key-file'?: string[] }): ChainKey[] {
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
  if (texts.length === 0)
    throw new UsageError('no key: give --key-file <path>, --key <secret> or AUTHTRAIL_CHAIN_KEY');
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
  const where = p.seq !== undefined ? ` (chain ${printable(p.chain ?? '')}, seq ${p.seq})` : '';
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
      'allow-open': { type: 'boolean' },
      anchors: { type: 'string', multiple: true },
      json: { type: 'boolean' },
    },
  });
  if (files.length === 0) throw new UsageError('no files given');
  const verifier = new ChainVerifier(readKeys(values), { allowOpen: values['allow-open'] });
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

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'verify') return verify(rest);
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
