// The output helpers every command prints through: escaping, colour, CSV, the caret under a query.
import { caretUnder, csvCell, printable, printableJson, useColour } from '../src/terminal.js';

const tty = { isTTY: true } as NodeJS.WriteStream;
const pipe = { isTTY: false } as NodeJS.WriteStream;

describe('useColour', () => {
  const saved = process.env.NO_COLOR;
  afterEach(() => {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  });

  test('colours a terminal only, and never when NO_COLOR is set to anything', () => {
    delete process.env.NO_COLOR;
    expect(useColour(tty)).toBe(true);
    expect(useColour(pipe)).toBe(false);
    process.env.NO_COLOR = '1';
    expect(useColour(tty)).toBe(false);
    // https://no-color.org: an empty value does not count.
    process.env.NO_COLOR = '';
    expect(useColour(tty)).toBe(true);
  });
});

test('printable escapes controls, ANSI escapes, bidi overrides and line separators, and its own backslash', () => {
  expect(printable('a\x1b[31mb\nc\u202ed\u2028e\\f\u0085')).toBe(
    'a\\u{1b}[31mb\\u{a}c\\u{202e}d\\u{2028}e\\\\f\\u{85}',
  );
});

test('printableJson escapes what JSON.stringify leaves raw, and parses back to the same data', () => {
  const value = { user: 'x\u202ey\u0085\x1b' };
  const text = printableJson(value, 0);
  expect(text).toBe('{"user":"x\\u202ey\\u0085\\u001b"}');
  expect(JSON.parse(text)).toEqual(value);
});

test.each([
  ['plain', 'plain'],
  ['a,b', '"a,b"'],
  ['say "hi"', '"say ""hi"""'],
  ['two\r\nlines', '"two\r\nlines"'],
  ['=1+1', "'=1+1"],
  ['+1', "'+1"],
  ['-1', "'-1"],
  ['@SUM(A1)', "'@SUM(A1)"],
  ['\tx', "'\tx"],
  ['\rx', '"\'\rx"'],
  ['=HYPERLINK("u","t")', '"\'=HYPERLINK(""u"",""t"")"'],
])('csvCell(%j) is %j', (value, cell) => {
  expect(csvCell(value)).toBe(cell);
});

test('caretUnder points at the problem in a long query, inside a window of the query', () => {
  const query = `${'type:a.b.c '.repeat(20)}usr:x ${'outcome:failure '.repeat(10)}`;
  const at = query.indexOf('usr:') + 1;
  const [message, shown, caret] = caretUnder('problem', query, at).split('\n');
  expect(message).toBe('problem');
  expect(shown!.length).toBeLessThan(70);
  expect(shown!.slice(caret!.indexOf('^'), caret!.indexOf('^') + 5)).toBe('usr:x');
});
