const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
// A date with a time and no zone would be read in the local zone: a zone is required, or a bare
// date (UTC).
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;
const RELATIVE = /^-(\d{1,6})([smhdw])$/;

/**
 * A time as people give one to the CLI and the console: ISO-8601 with a zone, a bare date (UTC),
 * `now`, or a time before `now` such as `-30m`, `-24h`, `-7d`, `-2w`. Undefined when `text` is
 * none of these: the caller says so in its own terms.
 */
export function parseTime(text: string, now: number): Date | undefined {
  if (text === 'now') return new Date(now);
  const relative = RELATIVE.exec(text);
  if (relative) return new Date(now - Number(relative[1]) * UNIT_MS[relative[2]!]!);
  const date = new Date(text);
  return ISO.test(text) && !Number.isNaN(date.getTime()) ? date : undefined;
}
