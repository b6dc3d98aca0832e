import { channel } from 'node:diagnostics_channel';
import {
  AuthtrailError,
  EventTypes,
  Reasons,
  type AuditEvent,
  type ManualEvent,
} from '@authtrail/schema';
import { routeKind, type RouteKind } from './classify.js';
import { DeliveryQueue, sinkErrorChannel } from './delivery/queue.js';
import { createBatch } from './delivery/batch.js';
import { newEvent, observers, stamper, type Observers } from './event.js';
import { manualEvent } from './manual-event.js';
import { fillRequestContext, type RequestView } from './observe/common.js';
import { isSignInPost, onSignInRoute } from './observe/sign-in-route.js';
import { readForm, TOO_LARGE } from './node/sign-in-guard.js';
import { requestRecorder } from './node/request-recorder.js';
import { createEventBuilder } from './observe/index.js';
import { resolveOptions, type AuthtrailOptions } from './options.js';
import { HashChain } from './integrity/chain.js';
import { ChainState } from './integrity/chain-state.js';
import { SealingKey } from './integrity/sealing.js';
import { flushOnExit } from './delivery/shutdown.js';
import { ADAPTER_KEY, LOCKED_KEY, REFRESH_KEY } from './node/symbols.js';
import { stdoutSink } from './sinks/stdout.js';
import { keyedHash } from './redact.js';
import { createRefreshEvent } from './observe/rp-refresh.js';
import { within } from './internal/deadline.js';
import type { IncomingMessage } from 'node:http';
import type {
  AuditorStats,
  AuditRecorder,
  RefreshFacts,
  RequestFacts,
  SignInGuard,
  SinkHost,
} from './types.js';

/** Published when building a request's event threw inside authtrail: `{ error }`. */
export const auditErrorChannel = channel('authtrail:error');

// Defined with the model (node/ needs it and must not import the auditor: no import cycle).
export type { AuditRecorder } from './types.js';

/** An audit pipeline: adapters hand it request facts, apps record manual events. */
export interface Auditor extends AuditRecorder {
  /** Resolves once every event recorded so far reached every sink. */
  flush(): Promise<void>;
  /** Flushes, then closes the sinks. Later events are dropped and counted. */
  close(): Promise<void>;
  stats(): AuditorStats;
  /**
   * For adapters: the auditor as one adapter sees it. The events it builds, and those recorded
   * through its `recorder`, name that adapter (`observer.adapter`), whoever created the auditor.
   */
  attach(adapter: string): AdapterHandle;
}

/** What an adapter drives: {@link Auditor.attach}'s answer, bound to the adapter's name. */
export interface AdapterHandle {
  /** Auditing an OpenID Provider (`routes: 'oidc-provider'`). */
  readonly provider: boolean;
  /** Turns the facts of a finished request into an event, if it is an auth event. Never throws. */
  observe(facts: RequestFacts): void;
  /**
   * Call it when a request arrives: undefined to go on at once, or (`overflow: 'block'` with a
   * full queue) a promise to wait for before handling the request.
   */
  admit(): Promise<void> | undefined;
  /**
   * Which relying-party route a URL is, or the sign-in form's (`signIn`): adapters use it to
   * capture what they need early, and hand core the parsed body on these routes only.
   */
  routeKind(url: string): RouteKind | 'sign_in' | undefined;
  /** A recorder that knows no request: its events name the adapter too. */
  readonly recorder: AuditRecorder;
  /**
   * The class of `req.audit` / `ctx.audit` / `request.audit`: `new Recorder(req)` is one small
   * object holding the request; what it records carries the request's context (http, source,
   * flow, trace) where the app left it out.
   */
  readonly Recorder: new (request: object) => AuditRecorder;
  /** For a request decorator (Fastify's): a getter that makes `this` request's recorder. */
  readonly recorderGetter: (this: object) => AuditRecorder;
  /**
   * Enforcement: set when a sink guards the sign-in form (`SinkHost.guardSignIn`), else undefined,
   * so that adapters skip it for nothing. Call it when a request on an auth route arrives
   * (`routeKind()` is not undefined: the sign-in form can share a path with the relying party's
   * login route, and core checks the form's method and path itself), before the app: 0 to let it
   * on, else the seconds of the lock it hit, to answer `lockedAnswer(seconds)`; a promise of either
   * when the body had to be read.
   */
  readonly guard:
    ((request: object, attempt: SignInAttempt) => number | Promise<number>) | undefined;
}

/** What {@link AdapterHandle.guard} is told of a request on the sign-in form, as it arrives. */
export interface SignInAttempt {
  method: string;
  url: string;
  /** The client's address, as the adapter will give it in the request's facts. */
  ip: string | undefined;
  /** The parsed body, if a parser ran already (Fastify's `preHandler`). */
  body: unknown;
  /**
   * Else the request's stream: read (bounded) only when the client's address has a lock, the
   * parsed body then left on it for the parsers after (see `readForm`).
   */
  stream?: IncomingMessage;
  /** Called with a body read from `stream`: puts it where the framework's parsers look (Koa's `ctx.request.body`). */
  keep?: (body: Record<string, unknown>) => void;
}

let ephemeralNoticeShown = false;

/**
 * Creates an auditor. Options are validated here, once: a broken configuration throws an
 * `AuthtrailError` with code `ERR_AUTHTRAIL_INVALID_OPTIONS` that lists every problem.
 * @example
 * const auditor = createAuditor({ service: 'billing-api', sinks: [fileSink('audit.jsonl')] });
 * auditor.record({ type: 'authn.mfa_enroll.success', user: { id: 'u-42' } });
 */
export function createAuditor(options?: AuthtrailOptions): Auditor {
  // The auditor's own `observer.adapter` (for the events no adapter saw: those recorded through the
  // auditor itself, checkpoints, delivery reports), an option only adapters and the jest kit set.
  const own = (options as { [ADAPTER_KEY]?: unknown } | undefined)?.[ADAPTER_KEY];
  const o = resolveOptions(options, typeof own === 'string' ? own : 'core');
  if (o.keyIsEphemeral && !ephemeralNoticeShown) {
    ephemeralNoticeShown = true;
    process.emitWarning(
      'authtrail: no fingerprint key configured (keys.fingerprint or AUTHTRAIL_FINGERPRINT_KEY); ' +
        'using a random key, so token fingerprints will not match across restarts or instances.',
      { code: 'AUTHTRAIL_EPHEMERAL_KEY' },
    );
  }
  const role = o.provider ? 'op' : 'rs';
  // The default sink is the auditor's choice, made here: options only say what was given.
  const sinks = o.sinks ?? [stdoutSink()];
  // A sealed chain's key comes from its state file, read (and moved to the current epoch) now: a
  // missing or broken one is a startup error, like a bad option.
  const sealing = o.chainSealing
    ? SealingKey.open(o.chainSealing, o.clock ?? Date.now, (error) => failed(error))
    : undefined;
  const signer = sealing ?? o.chainKey;
  // The chain's state (the head of the last run) lives beside the first sink that offers a place.
  const stateSink = signer ? sinks.findIndex((s) => typeof s.chainState === 'string') : -1;
  let state: ChainState | undefined;
  let stateProblem: string | undefined;
  try {
    if (stateSink >= 0) state = ChainState.claim(sinks[stateSink]!.chainState!);
    if (state?.unreadable) stateProblem = 'could not be read: a new lineage of runs starts';
  } catch (err) {
    // Fail open, like a log that cannot be opened yet: the chain still works, runs are not linked.
    stateProblem = `could not be kept (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  if (stateProblem)
    process.emitWarning(
      `authtrail: the hash chain state beside the log ${stateProblem}, so authtrail verify ` +
        'cannot link this run to the one before it.',
      { code: 'AUTHTRAIL_CHAIN_STATE' },
    );
  const chain = signer ? new HashChain(signer, state?.previous) : undefined;
  const queue = new DeliveryQueue(sinks, o.delivery, chain, o.service.replace(/[^\w.-]/g, '_'), {
    dropped(sink, dropped) {
      // Told once the sink accepts again, so the report itself is not lost with the events.
      const report = newEvent(observer[role], EventTypes.DELIVERY_FAILURE, Date.now());
      report.reason = Reasons.EVENTS_DROPPED;
      report.delivery = { sink, dropped };
      push(report);
    },
    quarantined(sink, quarantined, file) {
      const report = newEvent(observer[role], EventTypes.DELIVERY_FAILURE, Date.now());
      report.reason = Reasons.SPILL_UNREADABLE;
      report.delivery = { sink, dropped: 0, quarantined, quarantine_file: file };
      push(report);
    },
  });
  const blocking = o.delivery.overflow === 'block';
  // Tests may inject a clock and ids; chosen once here so that production pays nothing per event.
  const stamp = stamper(o.clock, o.ids);
  const push =
    stamp === undefined
      ? (event: AuditEvent) => queue.push(event)
      : (event: AuditEvent) => {
          stamp(event);
          queue.push(event);
        };
  const observer = observers(o);
  let closed = false;
  let closing: Promise<void> | undefined;
  // Requests admitted and not yet observed; on a fatal signal new ones are held back (`holding`).
  let inFlight = 0;
  let holding: Promise<void> | undefined;
  let errors = 0;
  // Events still waiting for authtrail's own token verification (first sight of a token only).
  const pending = new Set<Promise<void>>();
  const failed = (error: unknown) => {
    errors++;
    if (auditErrorChannel.hasSubscribers) auditErrorChannel.publish({ error });
  };
  // Enforcement's guard on the sign-in form, when a sink installs one (SinkHost.guardSignIn).
  let guard: SignInGuard | undefined;
  const build = createEventBuilder(o, (later) => {
    const settled: Promise<void> = later
      .then(undefined, failed)
      .finally(() => pending.delete(settled));
    pending.add(settled);
  });

  // The policy: which events are recorded. Skipped ones are counted here and go no further.
  const policy = o.policy;
  const skippedByRule = new Array<number>(o.policyRules).fill(0);
  let skipped = 0;
  const admitted = (event: AuditEvent): boolean => {
    const rule = policy === undefined ? -1 : policy(event);
    if (rule === -1) return true;
    skipped++;
    skippedByRule[rule]!++;
    return false;
  };

  /**
   * Records a manual event under these observer blocks (the auditor's own, or an adapter's), in
   * the context of a request when there is one.
   */
  const recordIn = (by: Observers, input: ManualEvent, view?: RequestView) => {
    if (closed)
      throw new AuthtrailError('ERR_AUTHTRAIL_CLOSED', 'authtrail: record() after close()');
    const event = manualEvent(o, by, input);
    if (view) fillRequestContext(o, event, view);
    if (admitted(event)) push(event);
    return event;
  };
  const recordAs = (by: Observers) => (input: ManualEvent) => recordIn(by, input);

  /** Records a relying party's own token refresh under these observer blocks (see rp-refresh.ts). */
  const refreshEvent = createRefreshEvent(o, (value) => keyedHash(o.fingerprintKey, value));
  const refreshAs = (by: Observers) => (facts: RefreshFacts) => {
    if (closed) {
      queue.refused++;
      return;
    }
    try {
      const event = refreshEvent(facts, by.rp);
      if (admitted(event)) push(event);
    } catch (error) {
      failed(error);
    }
  };

  const auditor: Auditor = {
    record: recordAs(observer),
    attach(adapter) {
      // Built once per adapter, like the auditor's own: a request only swaps in a frozen block.
      const mine =
        adapter === o.adapter
          ? observer
          : observers({ service: o.service, instance: o.instance, adapter: String(adapter) });
      const refresh = refreshAs(mine);
      const label = (event: AuditEvent) => {
        if (!admitted(event)) return;
        event.observer = mine[event.observer.role];
        push(event);
      };
      const Recorder = requestRecorder((view, input) => recordIn(mine, input, view), refresh);
      return Object.freeze({
        provider: o.provider,
        routeKind: (url: string) =>
          routeKind(o.routes, url) ?? (onSignInRoute(o.signIn, url) ? 'sign_in' : undefined),
        admit,
        Recorder,
        recorderGetter(this: object) {
          return new Recorder(this);
        },
        guard: guard === undefined ? undefined : guardAttempt,
        recorder: Object.freeze({ record: recordAs(mine), [REFRESH_KEY]: refresh }),
        // For a recorder made per request: it passes the app's refreshes on to this one.
        [REFRESH_KEY]: refresh,
        observe(facts: RequestFacts) {
          if (inFlight > 0) inFlight--;
          if (closed) {
            queue.refused++;
            return;
          }
          try {
            build(facts, label);
          } catch (error) {
            failed(error);
          }
        },
      });
    },
    async flush() {
      while (pending.size > 0) await Promise.all(pending);
      await queue.flush();
    },
    close() {
      return shutdown(Date.now() + o.delivery.closeTimeoutMs);
    },
    stats: () => ({ ...queue.stats(), errors, skipped, skippedByRule: [...skippedByRule] }),
  };
  /**
   * The guard's verdict on a sign-in attempt: 0 (go on) at once unless the client's address has a
   * lock; then the account is read from the body (the stream's, bounded, when no parser ran) and
   * looked up. A body too large to check, from a locked address, is refused for that address's
   * longest lock. Fails open: a guard that throws lets the attempt on, counted in `errors`.
   */
  function guardAttempt(request: object, a: SignInAttempt): number | Promise<number> {
    const g = guard!;
    const ip = a.ip;
    if (ip === undefined || closed || !isSignInPost(o.signIn!, a.method, a.url)) return 0;
    try {
      const longest = g.watches(ip);
      if (!(longest > 0)) return 0;
      if (a.body !== undefined || a.stream === undefined) return verdict(g, request, a.body, ip);
      return readForm(a.stream).then(
        (body) => {
          if (body === TOO_LARGE) return refused(request, longest);
          if (body === undefined) return 0;
          a.keep?.(body);
          return verdict(g, request, body, ip);
        },
        (error: unknown) => {
          failed(error);
          return 0;
        },
      );
    } catch (error) {
      failed(error);
      return 0;
    }
  }
  function verdict(g: SignInGuard, request: object, body: unknown, ip: string): number {
    try {
      const user = build.attempter!(body);
      const seconds = user === undefined ? 0 : g.lockedFor(user, ip);
      return seconds > 0 ? refused(request, seconds) : 0;
    } catch (error) {
      failed(error);
      return 0;
    }
  }
  /** Marks the request refused (its failure event says `account_locked`): whole seconds, at least 1. */
  function refused(request: object, seconds: number): number {
    const whole = Math.max(1, Math.ceil(seconds));
    (request as { [LOCKED_KEY]?: number })[LOCKED_KEY] = whole;
    return whole;
  }
  function admit(): Promise<void> | undefined {
    if (holding) return holding;
    inFlight++;
    return blocking && queue.full ? queue.room() : undefined;
  }
  /**
   * Closes by `until` (a `Date.now()` time) plus the queue's fixed margin, whatever the sinks do:
   * what they have not taken by then is spilled or counted as dropped.
   */
  function shutdown(until: number): Promise<void> {
    return (closing ??= (async () => {
      // Requests still finishing are taken in, until a flush sees no new event (or time is up).
      let seen = -1;
      while (seen !== queue.recorded && Date.now() < until) {
        seen = queue.recorded;
        await within(auditor.flush(), until);
      }
      closed = true;
      if (heartbeatTimer) {
        clearInterval(heartbeatTimer);
        // No further heartbeat is due: a watcher forgets this instance instead of calling it
        // silent. Only after one was sent: an auditor nobody could have watched adds no event.
        if (beats > 0) push(heartbeatEvent('close'));
      }
      // The last link of a chain: without it, `authtrail verify` reports the log as truncated.
      if (chain) push(checkpointEvent('close'));
      await queue.close(until);
      sealing?.stop();
      if (state) {
        await within(state.settle(), until);
        state.release();
      }
      if (anchorTimer) {
        clearInterval(anchorTimer);
        // The final head (after one still in flight), within the same deadline: a collector that
        // never answers cannot hold close.
        const target = o.chainAnchor!.sink;
        await within(
          (async () => {
            await anchoring;
            await anchorHead();
            await target.close?.();
          })(),
          until,
        );
      }
      forget?.();
    })());
  }
  // On SIGTERM / SIGINT with no listener of the app's: the process is going away. New requests are
  // held (never answered), the ones in flight finish and are recorded, then the auditor closes.
  // One deadline for both: the signal handling ends the process by it (see delivery/shutdown.ts).
  const exit = async () => {
    holding ??= new Promise<void>(() => {});
    const until = Date.now() + o.delivery.closeTimeoutMs;
    while (inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    await shutdown(until);
  };
  function checkpointEvent(reason: 'close' | 'rotation' | 'anchor'): AuditEvent {
    const event = newEvent(observer[role], EventTypes.CHECKPOINT, Date.now());
    event.reason = reason;
    return event;
  }
  // Heartbeats (issue 19; `silent_pipeline` in @authtrail/detect watches them): each says when the
  // next is due and what was recorded and lost since the last, from counters the queue keeps
  // anyway. Once a minute by default; the timer never keeps the process alive.
  let beats = 0;
  let beatRecorded = 0;
  let beatDropped = 0;
  function heartbeatEvent(reason?: 'close'): AuditEvent {
    const event = newEvent(observer[role], EventTypes.HEARTBEAT, Date.now());
    event.reason = reason;
    const { dropped } = queue.stats();
    event.heartbeat = {
      interval_s: o.heartbeat!,
      n: ++beats,
      events: queue.recorded - beatRecorded,
      dropped: dropped - beatDropped,
    };
    // This one is not counted in the next: `recorded` is read again once it is queued.
    beatDropped = dropped;
    return event;
  }
  const heartbeatTimer =
    o.heartbeat === undefined
      ? undefined
      : setInterval(() => {
          if (closed) return;
          try {
            push(heartbeatEvent());
            beatRecorded = queue.recorded;
          } catch (error) {
            failed(error);
          }
        }, o.heartbeat * 1000).unref();
  sinks.forEach((sink, i) => {
    const host: SinkHost = {
      record: auditor.record,
      fingerprint: (value) => keyedHash(o.fingerprintKey, value),
      guardSignIn(g) {
        if (!o.signIn || guard)
          throw new AuthtrailError(
            'ERR_AUTHTRAIL_INVALID_OPTIONS',
            o.signIn
              ? `authtrail: the sink ${JSON.stringify(sink.name)} guards the sign-in form, which another sink guards already; keep one`
              : `authtrail: the sink ${JSON.stringify(sink.name)} guards the sign-in form, but the auditor has no \`signIn\` routes; set signIn: { routes: 'POST /interaction/:uid/login' } (your form's route)`,
          );
        guard = g;
      },
      // A rotating file sink asks for a checkpoint and opens the new file with it. It goes to that
      // sink only: in another sink's file it would sit mid-file, where it proves nothing.
      checkpoint(reason) {
        if (!chain || closed) return false;
        const event = checkpointEvent(reason);
        stamp?.(event);
        queue.anchor(i, event);
        return true;
      },
      written(events) {
        if (!chain || i !== stateSink) return;
        for (let k = events.length - 1; k >= 0; k--) {
          const e = events[k]!;
          if (e.chain?.id === chain.id && !e.chain.anchor && e.seq !== undefined) {
            writtenHead = { seq: e.seq, hash: e.chain.hash };
            state?.save({ ...chain.place, id: chain.id, ...writtenHead });
            return;
          }
        }
      },
    };
    sink.attach?.(host);
  });
  // chainAnchor: the head last written to the log, sent elsewhere while it moves. Written, not
  // linked: an anchor must never name an event a crash kept out of the log.
  let writtenHead: { seq: number; hash: string } | undefined;
  let anchoredSeq = -1;
  let anchoring: Promise<void> | undefined;
  function anchorHead(): Promise<void> {
    const target = o.chainAnchor;
    if (anchoring || !chain || !target || !writtenHead || writtenHead.seq === anchoredSeq)
      return anchoring ?? Promise.resolve();
    const event = checkpointEvent('anchor');
    stamp?.(event);
    chain.anchor(event, writtenHead);
    anchoredSeq = writtenHead.seq;
    return (anchoring = (async () => {
      try {
        await target.sink.write(createBatch([event]));
      } catch (error) {
        // The next period sends a newer head; a lost one only leaves a longer stretch unanchored.
        if (sinkErrorChannel.hasSubscribers)
          sinkErrorChannel.publish({ sink: target.sink.name, error, events: 1 });
      } finally {
        anchoring = undefined;
      }
    })());
  }
  const anchorTimer =
    o.chainAnchor && chain
      ? setInterval(() => void anchorHead(), o.chainAnchor.everyMs).unref()
      : undefined;
  const forget = o.delivery.handleSignals
    ? flushOnExit({
        flush: auditor.flush,
        close: exit,
        stats: auditor.stats,
        closeTimeoutMs: o.delivery.closeTimeoutMs,
      })
    : undefined;
  return auditor;
}
