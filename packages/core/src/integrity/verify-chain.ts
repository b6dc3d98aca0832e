import { EventTypes, type AuditEvent, type ChainRun } from '@authtrail/schema';
import { serialize } from '../delivery/line.js';
import { newEvent } from '../event.js';
import { chainHash, chainKeyId, type ChainKey } from './chain.js';
import { SeedKeys, epochSeal, type SealingSeed } from './sealing.js';

/** What can be wrong with a chained log. */
export type ChainProblemKind =
  'modified' | 'deleted' | 'inserted' | 'reordered' | 'truncated' | 'replayed';

export interface ChainProblem {
  kind: ChainProblemKind;
  file: string;
  /** 1-based line number in `file`. */
  line: number;
  /** The chain and position concerned, when the line could be read. */
  chain?: string;
  seq?: number;
  /** The sealing epoch the line claims, for a sealed chain. */
  epoch?: number;
  message: string;
}

export interface ChainReport {
  ok: boolean;
  /** Chained events read (rotation checkpoints included). */
  events: number;
  chains: {
    id: string;
    events: number;
    lastSeq: number;
    /** Ends with its closing checkpoint. */
    closed: boolean;
    /** Its lineage and run number, when its first event (or its successor) is present. */
    lineage?: string;
    run?: number;
    /**
     * The run before it: `'none'` (the first run of its lineage), `'present'` (and linked), or
     * `'absent'` (the oldest run present names a run that is gone, e.g. removed by retention).
     * Unknown when the chain's first event is not present.
     */
    predecessor?: 'none' | 'present' | 'absent';
  }[];
  /** Anchored heads read (`addAnchor`), when any were given. */
  anchors?: number;
  /** The first problem in reading order (files in the order given, then lines). */
  problem?: ChainProblem;
}

export interface ChainVerifierOptions {
  /**
   * Accept the newest run of a lineage without its closing checkpoint (a service still writing).
   * An older run is never accepted open: the run after it names where it ended. @default false
   */
  allowOpen?: boolean;
  /**
   * Seeds of sealed chains (`keys.chain: { sealing }`, printed by `authtrail keys --setup`): the
   * key of each epoch is derived from them. Sealed events are checked with these only, never with
   * `keys`.
   */
  seeds?: readonly SealingSeed[];
}

interface Entry {
  seq: number;
  prev: string;
  hash: string;
  order: number;
  file: string;
  line: number;
  closes: boolean;
  /** A rotation checkpoint written before anchors existed: it took a seq in the chain. */
  rotation: boolean;
  /** A rotation checkpoint that names the head without taking a seq (`chain.anchor`). */
  anchor: boolean;
  /** The first chained line of its file: the only place a rotation checkpoint may start a chain. */
  fileStart: boolean;
  run?: ChainRun;
  /** Sealed chains: the epoch, key id and epoch seal the event carries. */
  epoch?: number;
  kid?: string;
  seal?: string;
  /** Sealed chains: the event's time, Unix ms. */
  time?: number;
}

type Found = ChainProblem & { order: number };

// Top-level keys in the order the event factory makes them: the order every written line has.
const KEY_ORDER = new Map(
  Object.keys(
    newEvent({ role: 'rs', service: '', instance: '', adapter: '' }, 'a.b.success', 0),
  ).map((key, i) => [key, i]),
);

/** The link to the previous run when it has its shape (the hash covers it, but stay defensive). */
function validAfter(after: unknown): ChainRun['after'] {
  const a = after as ChainRun['after'];
  return a &&
    typeof a === 'object' &&
    typeof a.id === 'string' &&
    Number.isInteger(a.seq) &&
    typeof a.hash === 'string'
    ? a
    : undefined;
}

/** True when the event's own keys come in schema order. */
function schemaOrder(event: object): boolean {
  let last = -1;
  for (const key of Object.keys(event)) {
    const at = KEY_ORDER.get(key);
    if (at === undefined || at <= last) return false;
    last = at;
  }
  return true;
}

/**
 * Checks audit logs written with `keys.chain`: feed it every line of every file, in order, then read
 * `report()`. It finds a line that is not byte for byte what authtrail wrote, a modified line (its
 * hash no longer matches), by `seq` and `chain.prev` a deleted, inserted (copied or unchained),
 * reordered or truncated one, and by the links between runs (`chain.run`) a missing, replayed or
 * out-of-place run. Memory: about 100 bytes a chained event.
 * @example
 * const verifier = new ChainVerifier(key);
 * lines.forEach((text, i) => verifier.add(text, 'audit.jsonl', i + 1));
 * const { ok, problem } = verifier.report();
 */
export class ChainVerifier {
  private readonly chains = new Map<string, Entry[]>();
  private readonly problems: Found[] = [];
  private readonly keys = new Map<string, Buffer>();
  private readonly seeds = new Map<string, SeedKeys>();
  private order = 0;
  private events = 0;
  private file: string | undefined;
  private chainedInFile = false;
  /** Whether the line being read is the first chained line of its file. */
  private fileStart = false;
  private readonly anchors: {
    file: string;
    line: number;
    order: number;
    id: string;
    seq: number;
    hash: string;
    lineage: string;
    n: number;
  }[] = [];

  /**
   * @param keys the chain key, or every key of a rotation: a key given without an id gets the id the
   *   auditor derives for it.
   */
  constructor(
    keys: Buffer | ChainKey | readonly (Buffer | ChainKey)[],
    private readonly options: ChainVerifierOptions = {},
  ) {
    for (const k of Array.isArray(keys) ? keys : [keys]) {
      const key = k as Buffer | ChainKey;
      const bytes = Buffer.isBuffer(key) ? key : key.key;
      // Under its derived id too: events signed while it was configured alone carry that one.
      this.keys.set(chainKeyId(bytes), bytes);
      if (!Buffer.isBuffer(key)) this.keys.set(key.id, bytes);
    }
    for (const seed of options.seeds ?? []) this.seeds.set(seed.id, new SeedKeys(seed));
  }

  /** One line of a log. `partial`: the line is the file's last and has no newline after it. */
  add(text: string, file: string, line: number, partial = false): void {
    const order = this.order++;
    if (file !== this.file) {
      this.file = file;
      this.chainedInFile = false;
    }
    const at = { file, line, order };
    const event = this.read(text, at, partial, () => {
      this.events++;
      this.chainedInFile = true;
    });
    if (!event) return;
    const chain = event.chain!;
    let entries = this.chains.get(chain.id);
    if (!entries) this.chains.set(chain.id, (entries = []));
    const checkpoint = event.type === EventTypes.CHECKPOINT;
    entries.push({
      ...at,
      seq: event.seq!,
      prev: chain.prev,
      hash: chain.hash,
      closes: checkpoint && event.reason === 'close',
      rotation: checkpoint && event.reason === 'rotation' && chain.anchor !== true,
      anchor: checkpoint && event.reason === 'rotation' && chain.anchor === true,
      fileStart: this.fileStart,
      run: event.seq === 1 && chain.anchor !== true ? chain.run : undefined,
      epoch: chain.epoch,
      kid: chain.kid,
      seal: chain.seal,
      time: chain.epoch === undefined ? undefined : Date.parse(event.time),
    });
  }

  /**
   * One line of the second destination of `chainAnchor`: a head the writer sent elsewhere. The log
   * must reach every anchored head of its chains, and hold the newest one of each lineage.
   */
  addAnchor(text: string, file: string, line: number, partial = false): void {
    const at = { file, line, order: this.order++ };
    const event = this.read(text, at, partial);
    if (!event) return;
    const chain = event.chain!;
    if (
      event.type !== EventTypes.CHECKPOINT ||
      event.reason !== 'anchor' ||
      chain.anchor !== true ||
      typeof chain.run?.lineage !== 'string' ||
      !Number.isInteger(chain.run.n)
    ) {
      this.problems.push({
        ...at,
        chain: chain.id,
        seq: event.seq,
        kind: 'inserted',
        message: 'not an anchored head (an audit.checkpoint.success with reason anchor)',
      });
      return;
    }
    this.anchors.push({
      ...at,
      id: chain.id,
      seq: event.seq!,
      hash: chain.prev,
      lineage: chain.run.lineage,
      n: chain.run.n,
    });
  }

  /**
   * Parses a line and checks that it is a chained event, written byte for byte the way authtrail
   * writes it, matching its hash. Reports what is wrong and gives undefined then.
   */
  private read(
    text: string,
    at: { file: string; line: number; order: number },
    partial: boolean,
    chained?: () => void,
  ): AuditEvent | undefined {
    if (text.trim() === '') return;
    let event: AuditEvent;
    try {
      event = JSON.parse(text) as AuditEvent;
    } catch {
      this.problems.push(
        partial
          ? { ...at, kind: 'truncated', message: 'the last line is cut off' }
          : { ...at, kind: 'modified', message: 'the line is not valid JSON: it was altered' },
      );
      return;
    }
    const chain = event?.chain;
    if (
      typeof event?.seq !== 'number' ||
      typeof chain?.hash !== 'string' ||
      typeof chain.id !== 'string'
    ) {
      this.problems.push({
        ...at,
        kind: 'inserted',
        message:
          'an event without a chain link: added afterwards, or written by an auditor without keys.chain',
      });
      return;
    }
    this.fileStart = !this.chainedInFile;
    chained?.();
    const ids = {
      chain: chain.id,
      seq: event.seq,
      epoch: Number.isSafeInteger(chain.epoch) ? chain.epoch : undefined,
    };
    // The hash covers the parsed event; readers that keep the first of two equal keys (Splunk, many
    // SIEMs) would see another one. Only the exact line authtrail writes is accepted.
    if (!schemaOrder(event) || serialize(event) !== text + '\n') {
      this.problems.push({
        ...at,
        ...ids,
        kind: 'modified',
        message:
          'the line is not written the way authtrail writes this event (a repeated key, added ' +
          'spaces, keys moved or escapes changed): it was altered',
      });
      return;
    }
    const problem = this.checkHash(event);
    if (problem) {
      this.problems.push({ ...at, ...ids, kind: 'modified', message: problem });
      return;
    }
    return event;
  }

  /** Why the event's hash does not hold, or undefined when it does. */
  private checkHash(event: AuditEvent): string | undefined {
    const { kid, hash, epoch } = event.chain!;
    if (epoch !== undefined) return this.checkSealed(event);
    const named = kid === undefined ? undefined : this.keys.get(kid);
    if (named !== undefined)
      return chainHash(named, event) === hash
        ? undefined
        : 'the event does not match its hash: it was altered (or the key is wrong)';
    // Written before key ids, or a key given without its id: any key given (the hash covers kid).
    for (const key of new Set(this.keys.values())) if (chainHash(key, event) === hash) return;
    return kid === undefined
      ? 'the event does not match its hash: it was altered (or the key is wrong)'
      : `the event was signed with key id "${kid}", which is not among the keys given (or it was altered)`;
  }

  /** A sealed event: its hash under its epoch's key, derived from the seed its `kid` names. */
  private checkSealed(event: AuditEvent): string | undefined {
    const { kid, hash, epoch } = event.chain!;
    const seeds = kid === undefined ? undefined : this.seeds.get(kid);
    if (!seeds)
      return `the event is sealed with key id "${kid}", and no seed for it was given (--seed-file), or it was altered`;
    // Bounded before any key is derived: a forged epoch costs nothing.
    if (!Number.isSafeInteger(epoch) || epoch! < 0)
      return "the event's sealing epoch is not a whole number: it was altered";
    if (epoch! > seeds.maxEpoch)
      return `the event claims sealing epoch ${epoch}, which has not begun: it was altered`;
    if (chainHash(seeds.keyAt(epoch!), event) !== hash)
      return `the event does not match its hash under the key of epoch ${epoch}: it was altered (or the seed is wrong)`;
    return undefined;
  }

  report(): ChainReport {
    const walked = new Map<string, boolean>();
    for (const [id, entries] of this.chains) walked.set(id, this.walk(id, entries));
    const runs = this.runs();
    const chains: ChainReport['chains'] = [];
    for (const [id, entries] of this.chains) {
      const last = entries[entries.length - 1]!;
      const run = runs.get(id);
      const closed = last.closes;
      chains.push({
        id,
        events: entries.length,
        lastSeq: last.seq,
        closed,
        lineage: run?.lineage,
        run: run?.n,
        predecessor: run?.predecessor,
      });
      // A run followed by another is vouched for by the link (it ended where the next one says);
      // only the newest run of a lineage may be open, and only with allowOpen.
      if (closed || !walked.get(id) || run?.successor) continue;
      if (this.options.allowOpen) continue;
      this.problems.push({
        ...this.at(last, id),
        kind: 'truncated',
        message:
          `the chain ends at seq ${last.seq} without its closing checkpoint: later events were ` +
          'removed, or the writer has not closed yet (still running, or it crashed); --allow-open accepts that for the newest run',
      });
    }
    this.checkAnchors();
    const problem = this.problems.sort((a, b) => a.order - b.order)[0];
    const result: ChainReport = { ok: problem === undefined, events: this.events, chains };
    if (this.anchors.length > 0) result.anchors = this.anchors.length;
    if (problem) {
      const { kind, file, line, chain, seq, epoch, message } = problem;
      result.problem = { kind, file, line, chain, seq, epoch, message };
    }
    return result;
  }

  /**
   * Every anchored head must be in the log (a chain present that ends before it lost its end), and
   * the newest anchor of each lineage must name a chain present (else the log's newest runs, or its
   * newest file, were removed or replaced). Older anchors of chains that are gone are retention.
   */
  private checkAnchors(): void {
    const newest = new Map<string, (typeof this.anchors)[number]>();
    for (const a of this.anchors) {
      const best = newest.get(a.lineage);
      if (!best || a.n > best.n || (a.n === best.n && a.seq > best.seq)) newest.set(a.lineage, a);
    }
    for (const a of this.anchors) {
      const entries = this.chains.get(a.id);
      const where = `${a.file}:${a.line}`;
      if (!entries) {
        if (newest.get(a.lineage) === a)
          this.problems.push({
            file: a.file,
            line: a.line,
            order: Number.MAX_SAFE_INTEGER,
            chain: a.id,
            seq: a.seq,
            kind: 'deleted',
            message: `run ${a.n} of the log, anchored up to seq ${a.seq} (${where}), is not in the files given: the newest runs were removed, or a newer file was replaced by an older one`,
          });
        continue;
      }
      const last = entries[entries.length - 1]!;
      const entry = entries.find((e) => e.seq === a.seq && !e.anchor);
      if (last.seq < a.seq) {
        this.problems.push({
          ...this.at(last, a.id),
          kind: 'truncated',
          message: `the chain ends at seq ${last.seq}, but its head was anchored at seq ${a.seq} (${where}): its last events were removed`,
        });
      } else if (entry && entry.hash !== a.hash) {
        this.problems.push({
          ...this.at(entry, a.id),
          kind: 'modified',
          message: `the event is not the one anchored at this seq (${where})`,
        });
      }
    }
  }

  private at(e: Entry, chain: string) {
    return { file: e.file, line: e.line, order: e.order, chain, seq: e.seq };
  }

  /** Checks one chain's sequence; false when a problem was found. */
  private walk(id: string, entries: Entry[]): boolean {
    const all = new Set(entries.map((e) => e.seq));
    const seen = new Map<number, Entry>();
    let expected = 1;
    let prevHash = '';
    /** The member before `e` in the sequence, when it is present (for the epoch seals). */
    let before: Entry | undefined;
    for (const [i, e] of entries.entries()) {
      const at = this.at(e, id);
      if (e.anchor) {
        if (i === 0) {
          // Older files may be gone by retention: a chain may start at the rotation checkpoint
          // that opens a file, never at one in the middle of a file (events before it were cut).
          if (!e.fileStart) {
            this.problems.push({
              ...at,
              kind: 'deleted',
              message:
                'the chain starts at a rotation checkpoint in the middle of the file: the events before it were removed',
            });
            return false;
          }
          expected = e.seq + 1;
          prevHash = e.prev;
          continue;
        }
        // Elsewhere it must name the event just before it.
        if (e.seq !== expected - 1 || e.prev !== prevHash) {
          this.problems.push({
            ...at,
            kind: e.seq >= expected ? 'deleted' : 'inserted',
            message: `the rotation checkpoint names seq ${e.seq}, but the chain is at seq ${expected - 1} here`,
          });
          return false;
        }
        continue;
      }
      if (i === 0 && e.rotation && e.fileStart) {
        expected = e.seq;
        prevHash = e.prev;
      }
      const copy = seen.get(e.seq);
      if (copy) {
        this.problems.push(
          copy.run
            ? {
                ...at,
                kind: 'replayed',
                message: `run ${copy.run.n} of this log appears a second time (first at ${copy.file}:${copy.line}): a file given twice, or an old copy put back`,
              }
            : {
                ...at,
                kind: 'inserted',
                message: `a copy of seq ${e.seq} (${copy.file}:${copy.line})`,
              },
        );
        return false;
      }
      seen.set(e.seq, e);
      if (e.seq !== expected || e.prev !== prevHash) {
        this.problems.push(
          e.seq > expected
            ? all.has(expected)
              ? { ...at, kind: 'reordered', message: `seq ${e.seq} comes before seq ${expected}` }
              : {
                  ...at,
                  kind: 'deleted',
                  message:
                    e.seq - expected === 1
                      ? `seq ${expected} is missing before this event`
                      : `seq ${expected} to ${e.seq - 1} are missing before this event`,
                }
            : e.seq < expected
              ? {
                  ...at,
                  kind: 'reordered',
                  message: `seq ${e.seq} comes after seq ${expected - 1}`,
                }
              : {
                  ...at,
                  kind: 'inserted',
                  message: `chain.prev does not name seq ${e.seq - 1}: the event belongs elsewhere`,
                },
        );
        return false;
      }
      const unsealed = this.epochProblem(before, e);
      if (unsealed) {
        this.problems.push({ ...at, epoch: e.epoch, kind: 'modified', message: unsealed });
        return false;
      }
      before = e;
      expected = e.seq + 1;
      prevHash = e.hash;
    }
    return true;
  }

  /**
   * Sealed chains: where the epoch moves on, the event must carry the seal of the epoch before it
   * (a MAC under that epoch's key over the last event's hash), made before that key was erased. So
   * events of an earlier epoch cannot be sealed again under a later key, which is the only key
   * someone who took the host later holds.
   */
  private epochProblem(before: Entry | undefined, e: Entry): string | undefined {
    if (!before) return this.startProblem(e);
    if ((before.epoch === undefined) !== (e.epoch === undefined))
      return 'the chain goes from sealed to unsealed events or back: it was altered';
    if (before.epoch === undefined || e.epoch === undefined || e.epoch === before.epoch) return;
    if (e.epoch < before.epoch)
      return `sealing epoch ${e.epoch} follows epoch ${before.epoch}: epochs never go back, it was altered`;
    const seeds = this.seeds.get(before.kid ?? '');
    if (seeds && e.seal === epochSeal(seeds.keyAt(before.epoch), e.prev)) return undefined;
    return (
      `epoch ${before.epoch} ends here without its seal: the events before were sealed again ` +
      `in a later epoch (by someone holding a later epoch's key), or altered`
    );
  }

  /**
   * The first event present of a sealed chain. With the seals, the one way left to seal earlier
   * events again is a whole chain at once, from its start, under a later key: its first event's
   * time then lies before that epoch began. An event is linked a little after its time (when its
   * request ends), so one epoch of lag is allowed.
   */
  private startProblem(e: Entry): string | undefined {
    const seeds = e.epoch === undefined ? undefined : this.seeds.get(e.kid ?? '');
    if (!seeds) return undefined;
    const { start, epochMs } = seeds.seed;
    if (e.time! >= start + (e.epoch! - 1) * epochMs) return undefined;
    return (
      `the chain's first event is sealed in epoch ${e.epoch}, more than one epoch after its time: ` +
      "the chain was sealed again later, by someone holding a later epoch's key (or the writer's clock went back)"
    );
  }

  /**
   * Orders the runs of each lineage by their links and reports a missing run (its successor names
   * it, and an older run of the lineage is present), a replayed one (two chains claim one place),
   * a link that names another end than the run's, and runs whose files come in the wrong order.
   */
  private runs(): Map<
    string,
    { lineage: string; n: number; predecessor?: 'none' | 'present' | 'absent'; successor?: string }
  > {
    type Run = { lineage: string; n: number; after?: ChainRun['after']; first?: Entry };
    const runs = new Map<string, Run>();
    for (const [id, entries] of this.chains) {
      const first = entries.find((e) => e.run !== undefined);
      const r = first?.run;
      if (r && typeof r.lineage === 'string' && Number.isInteger(r.n))
        runs.set(id, { lineage: r.lineage, n: r.n, after: validAfter(r.after), first });
    }
    // A run whose first event is gone (retention) is still placed by the run after it.
    for (let changed = true; changed;) {
      changed = false;
      for (const run of [...runs.values()]) {
        const before = run.after?.id;
        if (before !== undefined && this.chains.has(before) && !runs.has(before)) {
          runs.set(before, { lineage: run.lineage, n: run.n - 1 });
          changed = true;
        }
      }
    }
    const out = new Map<
      string,
      {
        lineage: string;
        n: number;
        predecessor?: 'none' | 'present' | 'absent';
        successor?: string;
      }
    >();
    for (const [id, run] of runs) out.set(id, { lineage: run.lineage, n: run.n });
    const byPlace = new Map<string, string>();
    const claimed = new Map<string, string>();
    for (const [id, run] of runs) {
      const entries = this.chains.get(id)!;
      const firstEntry = run.first ?? entries[0]!;
      const place = `${run.lineage}#${run.n}`;
      const twin = byPlace.get(place);
      if (twin !== undefined) {
        this.problems.push({
          ...this.at(firstEntry, id),
          kind: 'replayed',
          message: `run ${run.n} of its log appears twice (chains ${twin} and ${id})`,
        });
        continue;
      }
      byPlace.set(place, id);
      if (!run.first) continue; // placed by its successor: nothing of its own start to check
      if (run.after === undefined) {
        out.get(id)!.predecessor = 'none';
        continue;
      }
      const before = run.after.id;
      const rival = claimed.get(before);
      if (rival !== undefined) {
        this.problems.push({
          ...this.at(firstEntry, id),
          kind: 'replayed',
          message: `chains ${rival} and ${id} both claim to follow chain ${before}`,
        });
        continue;
      }
      claimed.set(before, id);
      const previous = this.chains.get(before);
      if (!previous) {
        const older = [...runs.values()].some((r) => r.lineage === run.lineage && r.n < run.n);
        if (older) {
          this.problems.push({
            ...this.at(firstEntry, id),
            kind: 'deleted',
            message: `run ${run.n - 1} of this log (chain ${before}, up to seq ${run.after.seq}) is missing, while older runs are present`,
          });
        } else out.get(id)!.predecessor = 'absent';
        continue;
      }
      out.get(id)!.predecessor = 'present';
      out.get(before)!.successor = id;
      const last = previous[previous.length - 1]!;
      const end = previous.find((e) => e.seq === run.after!.seq && !e.anchor);
      if (last.seq < run.after.seq) {
        this.problems.push({
          ...this.at(last, before),
          kind: 'truncated',
          message: `the run ends at seq ${last.seq}, but the next run (chain ${id}) says it ended at seq ${run.after.seq}: its last events were removed`,
        });
      } else if (end && end.hash !== run.after.hash) {
        this.problems.push({
          ...this.at(firstEntry, id),
          kind: 'inserted',
          message: `the run's link names another seq ${run.after.seq} of chain ${before} than the one present`,
        });
      }
    }
    // Runs of a lineage must come in the order of their numbers.
    const byLineage = new Map<string, { n: number; id: string; entry: Entry }[]>();
    for (const [id, run] of runs) {
      const list = byLineage.get(run.lineage) ?? [];
      list.push({ n: run.n, id, entry: this.chains.get(id)![0]! });
      byLineage.set(run.lineage, list);
    }
    for (const list of byLineage.values()) {
      list.sort((a, b) => a.n - b.n);
      for (let i = 1; i < list.length; i++) {
        const [older, newer] = [list[i - 1]!, list[i]!];
        if (newer.entry.order < older.entry.order) {
          this.problems.push({
            ...this.at(older.entry, older.id),
            kind: 'reordered',
            message: `run ${older.n} of this log comes after run ${newer.n} (${newer.entry.file}:${newer.entry.line}): an older file in place of a newer one, or files given out of order`,
          });
        }
      }
    }
    return out;
  }
}
