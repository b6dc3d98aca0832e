import type { EventPredicate, StoreFilter } from '@authtrail/store';
import { loadStore } from './store.js';
import { CommandError, caretUnder, printable } from './terminal.js';

/** `use(text)`, a malformed query becoming the message with a caret under the problem (exit status 2). */
function checked<T>(text: string, use: (text: string) => T): T {
  try {
    return use(text);
  } catch (error) {
    const e = error as { code?: string; position?: number; message?: string };
    if (e.code === 'ERR_AUTHTRAIL_INVALID_QUERY') {
      const message = `authtrail: ${printable(String(e.message).replace(/^authtrail: /, ''))}`;
      throw new CommandError(
        typeof e.position === 'number' ? caretUnder(message, text, e.position) : message,
        2,
      );
    }
    throw error;
  }
}

/**
 * `text` compiled by the query language; a malformed query becomes the message with a caret under
 * the problem (exit status 2). `extra` is ANDed after the user's query, which is checked alone first
 * so that positions are the user's.
 */
export async function compile(text: string, extra?: string): Promise<StoreFilter | undefined> {
  const { compileQuery } = await loadStore();
  if (text.trim() !== '') checked(text, compileQuery);
  const combined = [text.trim() === '' ? '' : `(${text})`, extra ?? ''].filter(Boolean).join(' ');
  return combined === '' ? undefined : compileQuery(combined);
}

/** `text` as a predicate over events (events in a file, not in a store), with the same errors as {@link compile}. */
export async function predicate(text: string): Promise<EventPredicate> {
  const { matchQuery } = await loadStore();
  return checked(text, matchQuery);
}
