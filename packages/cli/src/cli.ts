// authtrail <command>: tools for audit logs written by authtrail.
import { createReadStream, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { ChainVerifier, type ChainReport } from '@authtrail/core';

const USAGE = `Usage: authtrail verify <files...> [--key-file <path> | --key <secret>] [--allow-open] [--json]

  Checks the hash chain of audit logs written with keys.chain and reports OK, or the first
  modified, deleted, inserted, reordered or truncated event with its file and line.
  Give every file of a log, oldest first (e.g. audit.jsonl.2 audit.jsonl.1 audit.jsonl).

  --key-file <path>  file holding the chain key (preferred: a key on the command line shows in ps)
  --key <secret>     the chain key itself; AUTHTRAIL_CHAIN_KEY is read when neither is given
  --allow-open       accept a chain without its closing checkpoint (a service still writing)
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

function readKey(values: { key?: string; 'key-file'?: string }): Buffer {
  const text =
    values['key-file'] !== undefined
      ? readFileSync(values['key-file'], 'utf8').replace(/\r?\n$/, '')
      : (values.key ?? process.env.AUTHTRAIL_CHAIN_KEY);
  if (text === undefined)
    throw new UsageError('no key: give --key-file <path>, --key <secret> or AUTHTRAIL_CHAIN_KEY');
  const key = Buffer.from(text);
  if (key.length < 32)
    throw new UsageError(`the key has ${key.length} bytes; chain keys have at least 32`);
  return key;
}

function describe(report: ChainReport, files: string[]): string {
  const names = files.map((f) => basename(f)).join(', ');
  if (report.ok) {
    const open = report.chains.filter((c) => !c.closed).length;
    return (
      `authtrail verify: OK, ${report.events} events in ${report.chains.length} chain(s)` +
      `${open ? `, ${open} still open` : ''} (${names})`
    );
  }
  const p = report.problem!;
  const where = p.seq !== undefined ? ` (chain ${p.chain}, seq ${p.seq})` : '';
  return `authtrail verify: FAILED\n  ${p.file}:${p.line}: ${p.kind}${where}: ${p.message}`;
}

async function verify(args: string[]): Promise<number> {
  const { values, positionals: files } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      key: { type: 'string' },
      'key-file': { type: 'string' },
      'allow-open': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  if (files.length === 0) throw new UsageError('no files given');
  const verifier = new ChainVerifier(readKey(values), { allowOpen: values['allow-open'] });
  for (const file of files) {
    await eachLine(file, (text, line, partial) => verifier.add(text, file, line, partial));
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
  process.stdout.write(
    (values.json ? JSON.stringify(report, null, 2) : describe(report, files)) + '\n',
  );
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
      `authtrail: ${message}\n${error instanceof UsageError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? `\n${USAGE}\n` : ''}`,
    );
    process.exitCode = 2;
  },
);
