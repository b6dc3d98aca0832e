import type { AuditEvent } from '@authtrail/core';
import type { Captured } from './internal/received.js';

// Kept on the global object under a registered symbol: the CommonJS and ESM builds, and the
// setup entry bundled apart from the main one, all see the same set within a test file.
const MINTED = Symbol.for('authtrail.jest.minted');
type Registry = { [MINTED]?: Set<string> };

/** Remembers a secret the kit handed out (a minted token), so `toHaveNoSecrets()` looks for it. */
export function rememberSecret(value: string): void {
  const g = globalThis as Registry;
  (g[MINTED] ??= new Set()).add(value);
}

/** Every secret the kit minted in this test file. */
export function mintedSecrets(): ReadonlySet<string> {
  return (globalThis as Registry)[MINTED] ?? new Set();
}

/** What looks like a credential wherever it appears, whoever made it. */
const PATTERNS: ReadonlyArray<{ name: string; pattern: RegExp }> = [
  { name: 'a JWT', pattern: /eyJ[\w-]{6,}\.eyJ[\w-]{6,}\.[\w-]*/ },
  { name: 'a bearer token', pattern: /\bBearer\s+[\w~+/.-]{8,}=*/i },
  { name: 'basic credentials', pattern: /\bBasic\s+[A-Za-z0-9+/]{8,}=*/ },
];

/** A secret as the scan looks for it: the value, and for tokens its long parts too. */
interface Needle {
  name: string;
  find(haystack: string): string | undefined;
}

function literal(name: string, secret: string): Needle[] {
  const parts = secret.includes('.') ? secret.split('.').filter((p) => p.length >= 16) : [];
  return [secret, ...parts.filter((p) => p !== secret)].map((value, i) => ({
    name: i === 0 ? name : `part of ${name}`,
    find: (h) => (h.includes(value) ? value : undefined),
  }));
}

function pattern(name: string, re: RegExp): Needle {
  const safe = new RegExp(re.source, re.flags.replace('g', '').replace('y', ''));
  return { name, find: (h) => safe.exec(h)?.[0] };
}

/** Secrets shorter than this show nothing of themselves in a finding, only their length. */
const SHOWN_FROM = 24;

/**
 * A found secret as a failure message shows it, to recognise it, never to use it: failure output
 * lands in CI logs that many can read. Its length always; its first 4 characters only when it has
 * at least 24, so that 20 or more stay hidden (120 bits and more of a random secret). A secret of
 * 16 characters, shown 8, would be half given away.
 */
export function mask(value: string): string {
  const size = `${value.length} characters`;
  return value.length < SHOWN_FROM ? size : `${size}, starts ${JSON.stringify(value.slice(0, 4))}…`;
}

export interface Finding {
  /** What was found: "a JWT", "a token minted by createTestIssuer", "secret #2" ... */
  what: string;
  /** Where: an event field or a line of the written text. */
  where: string;
  /** The value found, masked by {@link mask}: its length, and its first 4 characters if long. */
  sample: string;
}

function needles(secrets: Iterable<string | RegExp> | undefined): Needle[] {
  const list: Needle[] = PATTERNS.map((p) => pattern(p.name, p.pattern));
  for (const token of mintedSecrets()) list.push(...literal('a token minted by the kit', token));
  let i = 0;
  for (const secret of secrets ?? []) {
    i++;
    if (secret instanceof RegExp) list.push(pattern(`secret #${i} (${String(secret)})`, secret));
    else if (typeof secret === 'string' && secret !== '')
      list.push(...literal(`secret #${i}`, secret));
  }
  return list;
}

function* leaves(value: unknown, path: string): Generator<[string, string]> {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* leaves(value[i], `${path}[${i}]`);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      const at = path ? `${path}.${key}` : key;
      yield [`${at} (the key)`, key];
      yield* leaves(v, at);
    }
  }
}

/**
 * Looks for secrets in every event (field by field, so findings name the field) and in every byte
 * written (line by line). At most `limit` findings.
 */
export function scan(
  captured: Captured,
  secrets?: Iterable<string | RegExp>,
  limit = 10,
): Finding[] {
  const list = needles(secrets);
  const found: Finding[] = [];
  const seen = new Set<string>();
  const check = (where: string, text: string) => {
    for (const needle of list) {
      const hit = needle.find(text);
      if (hit === undefined || seen.has(`${needle.name}\0${where}`)) continue;
      seen.add(`${needle.name}\0${where}`);
      found.push({ what: needle.name, where, sample: mask(hit) });
    }
  };
  captured.events.forEach((event: AuditEvent, i) => {
    for (const [path, text] of leaves(event, ''))
      check(`event #${i} (${event.type}) at ${path}`, text);
  });
  for (const text of captured.texts) {
    text.split('\n').forEach((line, n) => check(`written line ${n + 1}`, line));
  }
  return found.slice(0, limit);
}
