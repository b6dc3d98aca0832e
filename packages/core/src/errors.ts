import { AuthtrailError, type OptionIssue } from '@authtrail/schema';

// The two makers of option problems: the text of what was received, and the error that lists every
// problem. `AuthtrailError` itself is in @authtrail/schema, which a browser can import; these stay
// beside the option checks that use them (`internal/option-check.ts`).

// A word as enum options take them (`'spill'`, `'ndjson'`, `'express-openid-connect'`): letters and
// hyphens only, so a hex or base64 secret (which has digits or other signs) is never taken for one.
const WORD = /^[a-z][a-z-]{0,23}$/i;
const ABSOLUTE_URL = /^[a-z][a-z\d+.-]*:\/\//i;

/**
 * What an option problem says it received: the shape of the value (its type, and its length when it
 * could be a secret), never the value. This is the one place a received value becomes text, because
 * options hold secrets: handing authtrail an express-openid-connect config passes its `clientSecret`
 * and cookie `secret` as unknown options, and a collector URL's path or query is often its
 * credential. Two things are shown, both safe and both what fixes the problem: a word given where
 * one of `choices` is expected (`overflow: 'spil'` gives `"spil"`), and a URL's scheme and host
 * (never its path, query or user:password). Exported for sinks and adapters outside core.
 * @example
 * shapeOf('Pq7dK2xW9mZr4TbN8vLc3HyJ6sGf1AeQ'); // 'a string of 32 characters'
 * shapeOf('spil', ['drop', 'spill', 'block']); // '"spil"'
 * shapeOf('https://u:p@collector.example.com/t0k3n?api_key=k'); // 'a URL to https://collector.example.com (49 characters)'
 */
export function shapeOf(value: unknown, choices?: readonly string[]): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return shapeOfString(value, choices);
    case 'number':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    case 'object':
      break;
    default:
      return `a ${typeof value}`;
  }
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (value instanceof URL) return `a URL to ${value.protocol}//${value.host}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${value.byteLength} bytes`;
  return 'an object';
}

function shapeOfString(value: string, choices: readonly string[] | undefined): string {
  if (value === '') return 'an empty string';
  if (choices !== undefined && WORD.test(value)) return JSON.stringify(value);
  if (ABSOLUTE_URL.test(value) && URL.canParse(value)) {
    const url = new URL(value);
    if (url.host !== '')
      return `a URL to ${url.protocol}//${url.host} (${value.length} characters)`;
  }
  return `a string of ${value.length} characters`;
}

export function invalidOptions(issues: readonly OptionIssue[]): AuthtrailError {
  const lines = issues.map((i) => `  - ${i.path}: received ${i.received}; ${i.fix}`);
  const noun = issues.length === 1 ? 'problem' : 'problems';
  return new AuthtrailError(
    'ERR_AUTHTRAIL_INVALID_OPTIONS',
    `authtrail options have ${issues.length} ${noun}:\n${lines.join('\n')}`,
    issues,
  );
}
