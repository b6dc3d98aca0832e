import { EventTypes } from '../taxonomy.js';
import type { AuditEvent } from '../types.js';
import { chainHash } from './chain.js';

/** What can be wrong with a chained log. */
export type ChainProblemKind = 'modified' | 'deleted' | 'inserted' | 'reordered' | 'truncated';

export interface ChainProblem {
  kind: ChainProblemKind;
  file: string;
  /** 1-based line number in `file`. */
  line: number;
  /** The chain and position concerned, when the line could be read. */
  chain?: string;
  seq?: number;
  message: string;
}

export interface ChainReport {
  ok: boolean;
  /** Chained events read. */
  events: number;
  chains: { id: string; events: number; lastSeq: number; closed: boolean }[];
  /** The first problem in reading order (files in the order given, then lines). */
  problem?: ChainProblem;
}

export interface ChainVerifierOptions {
  /** Accept chains without their closing checkpoint (a service still writing). @default false */
  allowOpen?: boolean;
}

interface Entry {
  seq: number;
  prev: string;
  hash: string;
  order: number;
  file: string;
  line: number;
  closes: boolean;
  /** A rotation checkpoint: the start of a file after rotation. */
  anchors: boolean;
}

/**
 * Checks audit logs written with `keys.chain`: feed it every line of every file, in order, then read
 * `report()`. It finds a modified line (its hash no longer matches), and by `seq` and `chain.prev`
 * a deleted, inserted (copied or unchained), reordered or truncated one. Memory: about 100 bytes a
 * chained event.
 * @example
 * const verifier = new ChainVerifier(key);
 * lines.forEach((text, i) => verifier.add(text, 'audit.jsonl', i + 1));
 * const { ok, problem } = verifier.report();
 */
export class ChainVerifier {
  private readonly chains = new Map<string, Entry[]>();
  private readonly problems: (ChainProblem & { order: number })[] = [];
  private order = 0;
  private events = 0;

  constructor(
    private readonly key: Buffer,
    private readonly options: ChainVerifierOptions = {},
  ) {}

  /** One line of a log. `partial`: the line is the file's last and has no newline after it. */
  add(text: string, file: string, line: number, partial = false): void {
    const order = this.order++;
    if (text.trim() === '') return;
    const at = { file, line, order };
    let event: AuditEvent;
    try {
      event = JSON.parse(text) as AuditEvent;
    } catch {
      this.problem(
        partial
          ? { ...at, kind: 'truncated', message: 'the last line is cut off' }
          : { ...at, kind: 'modified', message: 'the line is not valid JSON: it was altered' },
      );
      return;
    }
    const chain = event?.chain;
    if (typeof event?.seq !== 'number' || typeof chain?.hash !== 'string') {
      this.problem({
        ...at,
        kind: 'inserted',
        message:
          'an event without a chain link: added afterwards, or written by an auditor without keys.chain',
      });
      return;
    }
    this.events++;
    const ids = { chain: chain.id, seq: event.seq };
    if (chainHash(this.key, event) !== chain.hash) {
      this.problem({
        ...at,
        ...ids,
        kind: 'modified',
        message: 'the event does not match its hash: it was altered (or the key is wrong)',
      });
      return;
    }
    let entries = this.chains.get(chain.id);
    if (!entries) this.chains.set(chain.id, (entries = []));
    entries.push({
      ...at,
      seq: event.seq,
      prev: chain.prev,
      hash: chain.hash,
      closes: event.type === EventTypes.CHECKPOINT && event.reason === 'close',
      anchors: event.type === EventTypes.CHECKPOINT && event.reason === 'rotation',
    });
  }

  report(): ChainReport {
    const chains: ChainReport['chains'] = [];
    for (const [id, entries] of this.chains) {
      this.walk(id, entries);
      const last = entries[entries.length - 1]!;
      chains.push({ id, events: entries.length, lastSeq: last.seq, closed: last.closes });
    }
    const problem = this.problems.sort((a, b) => a.order - b.order)[0];
    const result: ChainReport = { ok: problem === undefined, events: this.events, chains };
    if (problem) {
      const { kind, file, line, chain, seq, message } = problem;
      result.problem = { kind, file, line, chain, seq, message };
    }
    return result;
  }

  private walk(id: string, entries: Entry[]): void {
    const all = new Set(entries.map((e) => e.seq));
    const seen = new Map<number, Entry>();
    // Older files may be gone by retention: a chain may start at a rotation checkpoint.
    const first = entries[0]!;
    let expected = first.anchors ? first.seq : 1;
    let prevHash = first.anchors ? first.prev : '';
    for (const e of entries) {
      const at = { file: e.file, line: e.line, order: e.order, chain: id, seq: e.seq };
      const copy = seen.get(e.seq);
      if (copy) {
        return this.problem({
          ...at,
          kind: 'inserted',
          message: `a copy of seq ${e.seq} (${copy.file}:${copy.line})`,
        });
      }
      seen.set(e.seq, e);
      if (e.seq > expected) {
        return this.problem(
          all.has(expected)
            ? { ...at, kind: 'reordered', message: `seq ${e.seq} comes before seq ${expected}` }
            : {
                ...at,
                kind: 'deleted',
                message:
                  e.seq - expected === 1
                    ? `seq ${expected} is missing before this event`
                    : `seq ${expected} to ${e.seq - 1} are missing before this event`,
              },
        );
      }
      if (e.seq < expected) {
        return this.problem({
          ...at,
          kind: 'reordered',
          message: `seq ${e.seq} comes after seq ${expected - 1}`,
        });
      }
      if (e.prev !== prevHash) {
        return this.problem({
          ...at,
          kind: 'inserted',
          message: `chain.prev does not name seq ${e.seq - 1}: the event belongs elsewhere`,
        });
      }
      expected = e.seq + 1;
      prevHash = e.hash;
    }
    const last = entries[entries.length - 1]!;
    if (!last.closes && !this.options.allowOpen) {
      this.problem({
        file: last.file,
        line: last.line,
        order: last.order,
        chain: id,
        seq: last.seq,
        kind: 'truncated',
        message:
          `the chain ends at seq ${last.seq} without its closing checkpoint: later events were ` +
          'removed, or the writer has not closed yet (still running, or it crashed); --allow-open accepts that',
      });
    }
  }

  private problem(p: ChainProblem & { order: number }): void {
    this.problems.push(p);
  }
}
