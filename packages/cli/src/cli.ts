// authtrail <command>: tools for audit logs written by authtrail. Each command is loaded when it is
// run, and loads its own packages: `verify` never loads the store or pg.
import { CommandError, UsageError, printable } from './terminal.js';

const USAGE = `Usage: authtrail verify <files...> [--key-file <path> | --key <secret>] [--seed-file <path>]
                        [--allow-open] [--anchors <path>] [--json]
       authtrail keys --setup <state file or directory> [--interval <duration>]
       authtrail query ['<query>'] [--from <time>] [--to <time>] [--limit 50] [--after <cursor>]
                       [--order desc|asc] [--format table|json|ndjson|csv] [--store <url>] [--schema <name>]
       authtrail flow <event id | flow id | token fingerprint | session id> [--format text|json]
       authtrail stats ['<query>'] [--from <time>] [--to <time>] [--by outcome] [--interval 1h]
                       [--top 5] [--format table|json]

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

  query prints the events matching a query of the store's language, newest first, e.g.
  authtrail query 'type:authn.login.* outcome:failure user:alice' --from -7d
  (fields: type outcome reason user client ip flow token service instance route status trace id;
  AND, OR, NOT or -, parentheses; see docs/store.md). A table on a terminal, ndjson when piped;
  the next page's cursor follows the table, or goes to standard error for the other formats.
  flow prints every event of the login flow, token life and session around an id, in time order.
  stats counts events per --interval (1m, 5m, 15m, 1h, 1d) split by --by (a field), and the
  users, IPs and clients with the most failures (default --from -24h).

  --store <url>      the store: postgres://user@host:5432/database (default AUTHTRAIL_STORE)
  --schema <name>    the PostgreSQL schema of the store (default authtrail)
  --from, --to       ISO-8601 with a zone (2026-03-01T10:00:00Z), a date, now, or -30m, -24h, -7d;
                     from included, to excluded
  NO_COLOR           set (to anything) for no colour; colour is only ever used on a terminal

Exit status: 0 verified (or set up, or answered), 1 a problem was found (verify), nothing found
(flow) or the store failed, 2 usage error, unreadable file or malformed query.`;

const COMMANDS: Readonly<
  Record<string, () => Promise<(args: string[]) => number | Promise<number>>>
> = {
  verify: async () => (await import('./commands/verify.js')).verify,
  keys: async () => (await import('./commands/keys.js')).keys,
  query: async () => (await import('./commands/query.js')).query,
  flow: async () => (await import('./commands/flow.js')).flow,
  stats: async () => (await import('./commands/stats.js')).stats,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(COMMANDS, command))
    throw new UsageError(`unknown command "${printable(command.slice(0, 40))}"`);
  return (await COMMANDS[command]!())(rest);
}

/** The exit status of an error: a store that failed is 1 (the command was right), the rest 2. */
function exitCode(error: unknown): number {
  if (error instanceof CommandError) return error.exitCode;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_AUTHTRAIL_STORE')) return 1;
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    // A CommandError is worded (and escaped) already; anything else may carry hostile text.
    const shown =
      error instanceof CommandError
        ? message
        : `authtrail: ${printable(message.replace(/^authtrail: /, '').replaceAll('\n', ' '))}`;
    const usage =
      error instanceof UsageError ||
      (typeof (error as { code?: unknown })?.code === 'string' &&
        (error as { code: string }).code.startsWith('ERR_PARSE_ARGS'));
    process.stderr.write(`${shown}\n${usage ? `\n${USAGE}\n` : ''}`);
    process.exitCode = exitCode(error);
  },
);
