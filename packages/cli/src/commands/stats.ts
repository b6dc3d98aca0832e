// authtrail stats ['<q>']: events per time bucket split by a field, and who fails most.
import { parseArgs } from 'node:util';
import type { CountBucket, TopEntry } from '@authtrail/store';
import { compile } from '../query-text.js';
import { READ_OPTIONS, instant, relativeTimes, loadStore, openStore, whole } from '../store.js';
import {
  UsageError,
  cell,
  paint,
  printable,
  printableJson,
  table,
  useColour,
} from '../terminal.js';

// The fields ranked under "top failing": who (user), from where (ip), with what (client).
const TOP_FIELDS = [
  ['user', 'users'],
  ['ip', 'IPs'],
  ['client', 'clients'],
] as const;

/** `authtrail stats ['<q>'] [--from] [--to] [--by <field>] [--interval 1h] [--top 5] [--format table|json]`. */
export async function stats(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: relativeTimes(args),
    allowPositionals: true,
    options: {
      ...READ_OPTIONS,
      by: { type: 'string' },
      interval: { type: 'string' },
      top: { type: 'string' },
    },
  });
  if (positionals.length > 1)
    throw new UsageError(
      "stats: give the query as one argument, in quotes: authtrail stats 'type:authn.*'",
    );
  const { BUCKET_INTERVALS, GROUP_FIELDS } = await loadStore();
  const interval = values.interval ?? '1h';
  if (!(BUCKET_INTERVALS as readonly string[]).includes(interval))
    throw new UsageError(
      `--interval must be one of ${BUCKET_INTERVALS.join(', ')} (received ${printable(interval.slice(0, 20))})`,
    );
  const by = values.by ?? 'outcome';
  if (!(GROUP_FIELDS as readonly string[]).includes(by))
    throw new UsageError(
      `--by must be one of ${GROUP_FIELDS.join(', ')} (received ${printable(by.slice(0, 20))})`,
    );
  const format = values.format ?? (process.stdout.isTTY ? 'table' : 'json');
  if (format !== 'table' && format !== 'json')
    throw new UsageError(
      `--format must be table or json (received ${printable(format.slice(0, 20))})`,
    );
  const topN = whole('top', values.top, 5, 1, 1000);
  const now = Date.now();
  // A histogram of all time would be thousands of buckets: the last day unless told otherwise.
  const from = await instant('from', values.from ?? '-24h', now);
  const to = await instant('to', values.to, now);
  const text = positionals[0] ?? '';
  const where = await compile(text);
  const failing = await compile(text, 'outcome:failure');
  const store = await openStore(values);
  let buckets: CountBucket[];
  let tops: TopEntry[][];
  try {
    const range = { from, to };
    [buckets, ...tops] = await Promise.all([
      store.count({ ...range, where, interval: interval as never, by: by as never }),
      ...TOP_FIELDS.map(([field]) => store.top({ ...range, where: failing, field, limit: topN })),
    ]);
  } finally {
    await store.close();
  }
  if (format === 'json') {
    const top = Object.fromEntries(TOP_FIELDS.map(([field], i) => [field, tops[i]]));
    process.stdout.write(
      printableJson({ from, to: to ?? new Date(now), interval, by, buckets, failing: top }) + '\n',
    );
    return 0;
  }
  const colour = useColour();
  const out = [render(buckets, by)];
  TOP_FIELDS.forEach(([, title], i) => {
    const entries = tops[i]!;
    out.push(`\n${paint(`top failing ${title}`, 'bold', colour)}\n`);
    out.push(
      entries.length === 0
        ? '  none\n'
        : entries
            .map(
              (t) =>
                `  ${String(t.count).padStart(6)}  ${t.key === null ? '(none)' : cell(t.key, 60)}`,
            )
            .join('\n') + '\n',
    );
  });
  process.stdout.write(out.join(''));
  return 0;
}

/** Buckets as rows, the `by` values as columns (the most frequent first), a total column last. */
function render(buckets: CountBucket[], by: string): string {
  if (buckets.length === 0) return 'no events\n';
  const totals = new Map<string | null, number>();
  for (const b of buckets) totals.set(b.key, (totals.get(b.key) ?? 0) + b.count);
  const keys = [...totals.keys()].sort((a, b) => totals.get(b)! - totals.get(a)!);
  const rows = new Map<string, Map<string | null, number>>();
  for (const b of buckets) {
    let row = rows.get(b.start);
    if (!row) rows.set(b.start, (row = new Map()));
    row.set(b.key, b.count);
  }
  const header = [
    `start (${by})`,
    ...keys.map((k) => (k === null ? '(none)' : cell(k, 24))),
    'total',
  ];
  const body = [...rows].map(([start, row]) => [
    cell(start.replace(':00.000Z', 'Z'), 24),
    ...keys.map((k) => String(row.get(k) ?? 0)),
    String([...row.values()].reduce((a, b) => a + b, 0)),
  ]);
  body.push([
    'total',
    ...keys.map((k) => String(totals.get(k))),
    String([...totals.values()].reduce((a, b) => a + b, 0)),
  ]);
  return table(header, body);
}
