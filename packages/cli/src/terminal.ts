// What the commands print: text from logs and stores is hostile until escaped. One place for it.

/** A mistake in the command line or its input: exit status 2 and the usage text. */
export class UsageError extends Error {}

// Control characters (ESC, CR ...), bidirectional and other invisible format marks, line separators
// and unassigned code points: a log line could use them to repaint the terminal (a forged "OK").
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu;

/** Text read from a file or a store, safe to print: what cannot be shown as it is becomes `\u{..}`. */
export function printable(text: string): string {
  return text
    .replaceAll('\\', '\\\\')
    .replace(UNPRINTABLE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

// JSON.stringify escapes C0 controls already (and its own newlines between fields stay); it leaves
// C1 controls, bidi marks and line separators raw, which a terminal acts on.
const UNPRINTABLE_IN_JSON = /[\u007f-\u009f\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu;

/**
 * JSON with every character a terminal could act on escaped: parsed back, it is the same data.
 * `indent` 0 gives one line (ndjson).
 */
export function printableJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(UNPRINTABLE_IN_JSON, (c) => {
    let out = '';
    for (let i = 0; i < c.length; i++) out += '\\u' + c.charCodeAt(i).toString(16).padStart(4, '0');
    return out;
  });
}

/** Whether to colour standard output: a terminal, and no NO_COLOR (https://no-color.org: any non-empty value). */
export function useColour(stream: NodeJS.WriteStream = process.stdout): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR;
}

const SGR = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
export type Colour = keyof typeof SGR;

/** `text` in a colour when `on`; the text is printable already (the escape is ours, never the data's). */
export function paint(text: string, colour: Colour | undefined, on: boolean): string {
  return on && colour !== undefined ? `\x1b[${SGR[colour]}m${text}\x1b[0m` : text;
}

/** The colour of an outcome: failures red, detections yellow. */
export function outcomeColour(outcome: string): Colour | undefined {
  return outcome === 'failure' ? 'red' : outcome === 'detected' ? 'yellow' : undefined;
}

/** `text` escaped and cut to `max` characters with an ellipsis. */
export function cell(text: string | number | undefined | null, max: number): string {
  if (text === undefined || text === null || text === '') return '';
  const shown = printable(String(text));
  return shown.length > max ? shown.slice(0, max - 1) + '…' : shown;
}

/**
 * A compact table: a header, then rows whose cells are printable already, padded to the widest
 * cell of each column. `colours` picks a colour a row (applied after padding, so widths hold).
 */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  options: { colour?: boolean; rowColour?: (row: number) => Colour | undefined } = {},
): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((text, c) => (c === cells.length - 1 ? text : text.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  const out = [paint(line(header), 'bold', options.colour === true)];
  rows.forEach((r, i) => out.push(paint(line(r), options.rowColour?.(i), options.colour === true)));
  return out.join('\n') + '\n';
}

// A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection"):
// `=HYPERLINK(...)` in a user id would be a link in the auditor's own report.
const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV cell by RFC 4180 (quoted when it holds a quote, comma or line break), formulas defused with `'`. */
export function csvCell(value: string | number | undefined | null): string {
  if (value === undefined || value === null) return '';
  let text = String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV record, CRLF-terminated as RFC 4180 says. */
export function csvRow(values: readonly (string | number | undefined | null)[]): string {
  return values.map(csvCell).join(',') + '\r\n';
}

/** A failure already worded for the terminal, with its exit status. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

// How much of a long query is shown around the problem, so the caret stays on one screen line.
const QUERY_WINDOW = 60;

/**
 * A query error as a terminal shows it: the message, then the query (escaped) with a caret under the
 * 1-based `position`. The caret's column is measured on the escaped text, so an escaped control
 * character before it does not shift it.
 */
export function caretUnder(message: string, query: string, position: number): string {
  const at = Math.min(Math.max(position - 1, 0), query.length);
  let start = Math.max(0, at - QUERY_WINDOW / 2);
  const end = Math.min(query.length, start + QUERY_WINDOW);
  start = Math.max(0, Math.min(start, end - QUERY_WINDOW));
  const before = (start > 0 ? '…' : '') + printable(query.slice(start, at));
  const shown = before + printable(query.slice(at, end)) + (end < query.length ? '…' : '');
  return `${message}\n  ${shown}\n  ${' '.repeat(before.length)}^`;
}
