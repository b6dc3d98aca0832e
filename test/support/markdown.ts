// Just enough Markdown for the documentation tests: fenced code blocks, ATX headings and their
// anchors as GitHub makes them, and the links of a page (code excluded, since `[a](b)` in a code
// block or a code span is text, not a link). Our pages use nothing fancier; a construct this does
// not read (a setext heading, a link inside a heading's emphasis) fails the link test loudly rather
// than passing silently.

export interface Fence {
  /** 0-based line of the opening fence. */
  open: number;
  /** 0-based line of the closing fence; undefined when the block runs to the end. */
  close: number | undefined;
  /** The info string's first word: `js`, `sh`, `json`, or '' for none. */
  info: string;
  /** Spaces before the opening fence (a block inside a list item is indented with it). */
  indent: number;
}

/** The fenced code blocks of `lines`, in order: ``` or ~~~, closed by a fence as long or longer. */
export function fences(lines: string[]): Fence[] {
  const found: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]!);
    if (!open) continue;
    const [, spaces, marker] = open;
    const closing = new RegExp(`^ *${marker![0] === '`' ? '`' : '~'}{${marker!.length},}\\s*$`);
    let close: number | undefined;
    for (let j = i + 1; j < lines.length; j++)
      if (closing.test(lines[j]!)) {
        close = j;
        break;
      }
    found.push({ open: i, close, info: open[3]!.toLowerCase(), indent: spaces!.length });
    if (close === undefined) break;
    i = close;
  }
  return found;
}

/** The lines of `text` outside fenced code, others blanked (line numbers stay as they were). */
function prose(text: string): string[] {
  const lines = text.split('\n');
  for (const { open, close } of fences(lines))
    for (let i = open; i <= (close ?? lines.length - 1); i++) lines[i] = '';
  return lines;
}

/**
 * GitHub's anchor for a heading: its text as rendered (code marks and link targets gone),
 * lower-cased, every character but letters, digits, `_`, `-` and spaces dropped, spaces turned
 * into `-`. The second heading of the same text gets `-1`, the third `-2`, and so on.
 */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

export interface Heading {
  /** 1 for `#`, 6 for `######`. */
  level: number;
  text: string;
  /** 1-based line. */
  line: number;
}

/** The ATX headings (`#` to `######`) of `text`, outside code blocks. */
export function headings(text: string): Heading[] {
  const found: Heading[] = [];
  prose(text).forEach((line, index) => {
    const heading = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (heading) found.push({ level: heading[1]!.length, text: heading[2]!, line: index + 1 });
  });
  return found;
}

/** The anchors of every heading of `text`. */
export function anchors(text: string): Set<string> {
  const result = new Set<string>();
  const counts = new Map<string, number>();
  for (const heading of headings(text)) {
    const base = slug(heading.text);
    const n = counts.get(base) ?? 0;
    counts.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

export interface Link {
  /** 1-based line. */
  line: number;
  /** The destination as written: `docs/events.md#correlation`, `#install`, `https://...`. */
  target: string;
}

export interface References {
  /** Inline links and images, and reference definitions (`[label]: target`). */
  links: Link[];
  /** Labels this page defines (lower-cased). */
  defined: Set<string>;
  /** `[text][label]` and `[label][]` uses, which render as links only if `label` is defined. */
  used: { line: number; label: string }[];
  /** `[label]` alone: a link if some definition has that label, else plain text. */
  shortcuts: { line: number; label: string }[];
}

// `[text](target "title")`, `[text][label]`, `[label][]`, or `[label]` alone. The text may hold
// one level of brackets and wrap onto the next line, not past a blank one.
const BRACKETS = new RegExp(
  String.raw`\[((?:[^[\]\n]|\n(?![ \t]*\n)|\[[^\]\n]*\])*)\]` +
    String.raw`(?:\(\s*<?([^\s)>]*)>?(?:\s+"[^"]*")?\s*\)|\[([^\]\n]*)\])?`,
  'g',
);

/** Whether the brackets at `start` open a definition: `[label]:` at the start of a line. */
function isDefinition(source: string, start: number, length: number): boolean {
  const lineStart = source.lastIndexOf('\n', start - 1) + 1;
  return source[start + length] === ':' && /^ {0,3}$/.test(source.slice(lineStart, start));
}

/** `text` with its code spans blanked (same length, line breaks kept): a span is not markup. */
function withoutCodeSpans(text: string): string {
  // A span may wrap onto the next line but never crosses a blank line (a paragraph's end).
  return text
    .split(/(\n[ \t]*\n)/)
    .map((paragraph) =>
      paragraph.replace(/(?<!`)(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, (span) =>
        span.replace(/[^\n]/g, ' '),
      ),
    )
    .join('');
}

/** The links of a Markdown page, outside code blocks and code spans. */
export function references(text: string): References {
  const result: References = { links: [], defined: new Set(), used: [], shortcuts: [] };
  const source = withoutCodeSpans(prose(text).join('\n'));
  const lineAt = (offset: number) => source.slice(0, offset).split('\n').length;
  for (const m of source.matchAll(/^ {0,3}\[([^\]]+)\]:[ \t]*<?([^\s>]+)>?.*$/gm)) {
    result.defined.add(m[1]!.toLowerCase());
    result.links.push({ line: lineAt(m.index), target: m[2]! });
  }
  for (const m of source.matchAll(BRACKETS)) {
    const line = lineAt(m.index);
    if (m[2] !== undefined) result.links.push({ line, target: m[2] });
    else if (m[3] !== undefined) result.used.push({ line, label: (m[3] || m[1]!).toLowerCase() });
    else if (!isDefinition(source, m.index, m[0].length))
      result.shortcuts.push({ line, label: m[1]!.replace(/\s+/g, ' ').toLowerCase() });
  }
  return result;
}
