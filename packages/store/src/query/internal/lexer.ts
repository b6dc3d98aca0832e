import { errorAt, quote } from './query-error.js';

/** A value as written: its literal text split at each unescaped `*` (one part: no wildcard). */
export interface RawValue {
  readonly parts: readonly string[];
  /** 1-based column of the value's first character (its opening quote when quoted). */
  readonly pos: number;
  /** The value as typed, escapes and quotes included, for messages. */
  readonly source: string;
}

export type Token =
  | {
      readonly kind: 'lparen' | 'rparen' | 'and' | 'or' | 'not' | 'neg' | 'end';
      readonly pos: number;
    }
  | { readonly kind: 'word'; readonly pos: number; readonly text: string }
  | {
      readonly kind: 'term';
      readonly pos: number;
      readonly field: string;
      readonly value: RawValue;
    };

const KEYWORDS: Readonly<Record<string, 'and' | 'or' | 'not'>> = {
  AND: 'and',
  OR: 'or',
  NOT: 'not',
};

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
}

/**
 * Splits a query into tokens on demand, so that the first problem in reading order is the one
 * reported. Positions are 1-based columns (UTF-16 code units, as an editor's caret counts them).
 */
export class Lexer {
  private i = 0;
  private peeked: Token | undefined;

  constructor(private readonly text: string) {}

  peek(): Token {
    this.peeked ??= this.read();
    return this.peeked;
  }

  next(): Token {
    const token = this.peek();
    this.peeked = undefined;
    return token;
  }

  private read(): Token {
    const text = this.text;
    while (this.i < text.length && isSpace(text[this.i] as string)) this.i++;
    const pos = this.i + 1;
    if (this.i >= text.length) return { kind: 'end', pos };
    const c = text[this.i] as string;
    if (c === '(' || c === ')') {
      this.i++;
      return { kind: c === '(' ? 'lparen' : 'rparen', pos };
    }
    if (c === '-') {
      const after = text[this.i + 1];
      if (after === undefined || isSpace(after) || after === ')' || after === '-') {
        throw errorAt(pos, "expected a field:value term or '(' right after '-'");
      }
      this.i++;
      return { kind: 'neg', pos };
    }
    if (c === '"') {
      throw errorAt(pos, 'expected a field before the quoted value, e.g. client:"web app"');
    }
    const start = this.i;
    while (this.i < text.length) {
      const d = text[this.i] as string;
      if (isSpace(d) || d === '(' || d === ')' || d === ':' || d === '"') break;
      this.i++;
    }
    const word = text.slice(start, this.i);
    if (text[this.i] === ':') {
      if (word === '') throw errorAt(pos, "expected a field name before ':'");
      this.i++;
      return { kind: 'term', pos, field: word, value: this.readValue(word) };
    }
    if (text[this.i] === '"') {
      throw errorAt(
        this.i + 1,
        `expected ':' between the field ${quote(word)} and its quoted value`,
      );
    }
    const keyword = KEYWORDS[word];
    if (keyword !== undefined && Object.hasOwn(KEYWORDS, word)) return { kind: keyword, pos };
    return { kind: 'word', pos, text: word };
  }

  private readValue(field: string): RawValue {
    const text = this.text;
    const pos = this.i + 1;
    const start = this.i;
    const quoted = text[this.i] === '"';
    if (quoted) this.i++;
    const parts: string[] = [];
    let current = '';
    for (;;) {
      if (this.i >= text.length) {
        if (quoted)
          throw errorAt(text.length + 1, `expected '"' to close the quote opened at ${pos}`);
        break;
      }
      const d = text[this.i] as string;
      if (quoted && d === '"') {
        this.i++;
        break;
      }
      if (!quoted && (isSpace(d) || d === '(' || d === ')')) break;
      if (!quoted && d === '"') {
        throw errorAt(
          this.i + 1,
          `unexpected '"' inside a value; quote the whole value, e.g. ${field}:"a b"`,
        );
      }
      if (d === '\\') {
        const escaped = text[this.i + 1];
        if (escaped === undefined) throw errorAt(this.i + 1, "expected a character after '\\'");
        current += escaped;
        this.i += 2;
        continue;
      }
      if (d === '*') {
        parts.push(current);
        current = '';
      } else {
        current += d;
      }
      this.i++;
    }
    parts.push(current);
    const source = text.slice(start, this.i);
    if (parts.length === 1 && current === '') {
      throw errorAt(pos, `expected a value after ${quote(`${field}:`)}`);
    }
    return { parts, pos, source };
  }
}
