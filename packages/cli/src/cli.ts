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
       authtrail import <files...> [--key-file <path> ...] [--batch 2000] [--json] [--store <url>]
       authtrail ingest [--follow] <file> [--state <path>] [--batch 1000] [--store <url>]
       authtrail tail [-f] ['<query>'] [--file <path>] [-n 10] [--format table|ndjson|csv]
                      [--store <url>]
       authtrail console [--port 0] [--store <url>] [--schema <name>]
       authtrail <command> --help     (import, ingest, tail, console: their options in full)

  Checks the hash chain of audit logs written with keys.chain and reports OK, or the first
  modified, deleted, inserted, reordered, truncated or replayed event (or run) with its file and
  line. Give every file of a log, oldest first (e.g. audit.jsonl.2.gz audit.jsonl.1 audit.jsonl);
  gzip-compressed files are read as they are.

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
  import stores the events of log files (JSON lines, rotated, gzip) once each, verifying their
  hash chain with the verify options; ingest follows a live log into the store across rotations
  and restarts; tail prints the last events matching a query, from a --file or the store, and
  with -f each new one. console serves the console's API on 127.0.0.1 over the store and prints
  a one-time sign-in link (docs/console.md); every call is recorded into the store.

  --store <url>      the store: postgres://user@host:5432/database (default AUTHTRAIL_STORE)
  --schema <name>    the PostgreSQL schema of the store (default authtrail)
  --from, --to       ISO-8601 with a zone (2026-03-01T10:00:00Z), a date, now, or -30m, -24h, -7d;
                     from included, to excluded
  NO_COLOR           set (to anything) for no colour; colour is only ever used on a terminal

Exit status: 0 verified (or set up, or answered), 1 a problem was found (verify), nothing found
(flow), a line was not imported or the chain broke (import, ingest) or the store failed, 2 usage
error, unreadable file or malformed query.`;

const COMMAND_HELP: Readonly<Record<string, string>> = {
  console: `Usage: authtrail console [--port 0] [--store <url>] [--schema <name>]

  Serves the console's API on 127.0.0.1 over the store and prints a sign-in link with a one-time
  admin token on standard output: the first visit opens an admin session and spends it (restart
  for a new link). Every call of the console is recorded into the same store (audit.access.*),
  with the keys of AUTHTRAIL_FINGERPRINT_KEY and AUTHTRAIL_CHAIN_KEY when set. An embedded store
  is held by one process: stop the app writing it first, or mount consoleHandler in that app.
  Stop with Ctrl-C (SIGINT) or SIGTERM. See docs/console.md.

  --port <n>         the port, 0 for any free one (default 0)
  --store <url>      postgres://user@host:5432/database or a directory (default AUTHTRAIL_STORE,
                     else ./.authtrail)
  --schema <name>    the PostgreSQL schema of the store (default authtrail)

Exit status: 0 stopped by a signal, 1 the store failed or the port is taken, 2 usage error.`,
  import: `Usage: authtrail import <files...> [--key-file <path> | --key <secret>] [--seed-file <path>]
                        [--allow-open] [--anchors <path>] [--batch 2000] [--json]
                        [--store <url>] [--schema <name>]

  Stores every event of the files (JSON lines as a fileSink writes them; rotated files, oldest
  first: audit.jsonl.2 audit.jsonl.1 audit.jsonl; gzip-compressed ones too) in batches. Importing
  a file again stores nothing twice: an event already stored (same id and time) is counted as
  already stored. A line that is not an authtrail event is reported with its file and line and
  skipped; the rest goes in. A progress bar (rate, ETA) shows on a terminal's standard error; a
  summary line always ends the import.

  With a key (the options of authtrail verify, or AUTHTRAIL_CHAIN_KEY) the hash chain is verified
  as the files are read: a break is reported with its file and line, every event is still stored.

  --key-file, --key, --seed-file, --allow-open, --anchors   as for authtrail verify
  --batch <n>        events per insert, 1 to 10000 (default 2000)
  --json             print the summary (and the chain's report) as JSON
  --store <url>      postgres://user@host:5432/database (default AUTHTRAIL_STORE); the schema is
                     created if it is not there
  --schema <name>    the PostgreSQL schema of the store (default authtrail)

  Example: authtrail import /var/log/app/audit.jsonl.2.gz /var/log/app/audit.jsonl.1 \
             /var/log/app/audit.jsonl --key-file /etc/app/chain.key --store postgres://audit@db/audit

Exit status: 0 every event stored (and the chain verified), 1 lines not imported, a file not read
to its end, a broken chain, or the store failed (run the import again: nothing is stored twice),
2 usage error or a file that cannot be read.`,
  ingest: `Usage: authtrail ingest [--follow] <file> [--state <path>] [--batch 1000] [--store <url>] [--schema <name>]

  Stores the events of a live log as a fileSink writes it, then (--follow) each new one as it is
  written, across rotations (audit.jsonl -> audit.jsonl.1 ...): a rotated file is read to its end
  before the next one. Where reading got to is saved after each batch the store committed, in a
  state file, so that a restart (even after a crash) goes on from there and every event is stored
  once. The first run starts at the oldest file of the log present (audit.jsonl.5 ... audit.jsonl);
  a rotated file another tool compressed is skipped with a notice: give it to authtrail import.
  SIGINT or SIGTERM: the batch being read is stored, its position saved, then it stops.

  --follow, -f       keep reading as the log grows (without it: stop at the live file's end)
  --state <path>     the state file (default: .<file name>.ingest.json beside the log). One state
                     for each log and store: another log's or another store's state is refused
  --batch <n>        events per insert, 1 to 10000 (default 1000)
  --store <url>      postgres://user@host:5432/database (default AUTHTRAIL_STORE)
  --schema <name>    the PostgreSQL schema of the store (default authtrail)

  Example: authtrail ingest --follow /var/log/app/audit.jsonl --store postgres://audit@db/audit

Exit status: 0 stopped (end of the log, or a signal) with every line stored, 1 a line was not an
event (reported with file and line) or the store failed, 2 usage error or unreadable state.`,
  tail: `Usage: authtrail tail [-f] ['<query>'] [--file <path>] [-n 10] [--format table|ndjson|csv]
                      [--store <url>] [--schema <name>]

  Prints the last events matching a query (all events without one), oldest first, and with -f
  each new matching event as it comes. From --file: the query is evaluated on each line as the
  store would (same fields, wildcards, negation, CIDR ranges); -f follows the file across its
  rotations. From the store: -f asks it every second for events after the last one printed (an
  event stored later with an earlier time than that one is not shown: use query for those). A
  table on a terminal, ndjson when piped.

  -f, --follow       keep printing new events (stop with Ctrl-C)
  --file <path>      a log file (JSON lines; gzip too without -f) instead of the store
  -n, --lines <n>    how many of the last events first, 0 to 10000 (default 10)
  --format <f>       table, ndjson or csv
  --store <url>      postgres://user@host:5432/database (default AUTHTRAIL_STORE)
  --schema <name>    the PostgreSQL schema of the store (default authtrail)

  Example: authtrail tail -f 'outcome:failure -ip:10.0.0.0/8' --file /var/log/app/audit.jsonl

Exit status: 0, 1 the store failed, 2 usage error, unreadable file or malformed query.`,
};

const COMMANDS: Readonly<
  Record<string, () => Promise<(args: string[]) => number | Promise<number>>>
> = {
  verify: async () => (await import('./commands/verify.js')).verify,
  keys: async () => (await import('./commands/keys.js')).keys,
  query: async () => (await import('./commands/query.js')).query,
  flow: async () => (await import('./commands/flow.js')).flow,
  stats: async () => (await import('./commands/stats.js')).stats,
  import: async () => (await import('./commands/import.js')).importFiles,
  ingest: async () => (await import('./commands/ingest.js')).ingest,
  tail: async () => (await import('./commands/tail.js')).tail,
  console: async () => (await import('./commands/console.js')).consoleCommand,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(COMMANDS, command))
    throw new UsageError(`unknown command "${printable(command.slice(0, 40))}"`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(
      (Object.hasOwn(COMMAND_HELP, command) ? COMMAND_HELP[command] : USAGE) + '\n',
    );
    return 0;
  }
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
