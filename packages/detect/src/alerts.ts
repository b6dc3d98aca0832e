import { createHash, randomUUID } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import { shapeOf, type AuditEvent, type OptionCheck } from '@authtrail/core/sink';
import type { DetectionSeverity } from '@authtrail/schema';

/**
 * What a destination receives: one (detector, key) group firing or resolved. It carries only what
 * the detection event carries (no token, no header, no raw key), so any destination may show it.
 */
export interface AlertNotification {
  /** Unique per notification: a receiver drops a retried one it has seen (`webhook-id`). */
  readonly id: string;
  readonly status: 'firing' | 'resolved';
  /** A stable hash of (detector, key): PagerDuty's `dedup_key`, Alertmanager's `key` label. */
  readonly group: string;
  readonly detector: string;
  /** The detection event's type, e.g. `authn.bruteforce.detected`. */
  readonly type: string;
  readonly severity: DetectionSeverity;
  /** The detection's `key`: a keyed hash under the auditor's fingerprint key. */
  readonly key: string;
  /** Events counted when the latest detection fired, and the count it fires at. */
  readonly count: number;
  readonly threshold: number;
  readonly window_s?: number;
  /** Detections grouped into this alert so far. */
  readonly detections: number;
  /** Ids of the first and last events of the latest detection's evidence. */
  readonly evidence: { readonly first: string; readonly last: string };
  /** The latest detection event: its id and time. */
  readonly event: { readonly id: string; readonly time: string };
  readonly user?: { readonly id?: string; readonly hash?: string };
  readonly client?: { readonly id: string };
  readonly source?: { readonly ip: string };
  /** When the group's first detection was recorded (ISO 8601). */
  readonly startsAt: string;
  /** Resolved: when it was resolved. Firing: when it resolves if nothing more is detected. */
  readonly endsAt: string;
}

/** Where alerts go: `send` resolves when delivered and rejects to be retried. */
export interface AlertDestination {
  /** In error messages; never a URL path or credential. */
  readonly name: string;
  send(notification: AlertNotification): Promise<void>;
  /** Aborts deliveries in flight (called once the fan-out gave up on them). */
  close?(): Promise<void>;
}

/**
 * The `alerts` option of `detectors()`: the destinations, and how detections are grouped into
 * notifications (Alertmanager's `group_wait`, `group_interval`, `repeat_interval`).
 */
export interface AlertsOptions {
  /** The destinations; each notification goes to all of them, independently. */
  to: AlertDestination[];
  /** How long a new group waits for more detections before its first notification. @default 30000 */
  groupWaitMs?: number;
  /** How long after a notification a group's new detections are sent. @default 300000 */
  groupIntervalMs?: number;
  /** How long after a notification an unchanged firing group is sent again. @default 14400000 */
  repeatIntervalMs?: number;
  /**
   * Quiet time after a group's last detection before it is resolved.
   * @default the detection's window (`window_s`), 300000 for a rule without one
   */
  resolveAfterMs?: number;
  /** Groups kept at most; the oldest is resolved early to make room. @default 10000 */
  maxGroups?: number;
  /** Attempts after the first failed one, per destination and notification. @default 3 */
  retries?: number;
  /** First retry delay, doubled each attempt up to `maxRetryDelayMs`, with jitter. @default 1000 */
  minRetryDelayMs?: number;
  /** @default 60000 */
  maxRetryDelayMs?: number;
}

/** Counters of the alert fan-out, in `detectors().stats().alerts`. */
export interface AlertStats {
  /** Notifications delivered (one per destination). */
  sent: number;
  /** Delivery attempts that failed (each retried one included). */
  failed: number;
  /** Attempts made again after a failure. */
  retried: number;
  /** Notifications given up: retries exhausted, too many in flight, or closed. */
  dropped: number;
  /** Groups held now. */
  groups: number;
}

interface ResolvedAlerts {
  readonly to: readonly AlertDestination[];
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
  readonly resolveAfterMs: number | undefined;
  readonly maxGroups: number;
  readonly retries: number;
  readonly minRetryDelayMs: number;
  readonly maxRetryDelayMs: number;
}

const DAY_MS = 86_400_000;
const MAX_IN_FLIGHT = 1000;
const alertError = channel('authtrail:alert-error');

/** Checks option `alerts` of `detectors()` (an array of destinations, or {@link AlertsOptions}). */
export function resolveAlerts(
  check: OptionCheck<unknown>,
  value: unknown,
): ResolvedAlerts | undefined {
  if (value === undefined) return undefined;
  const o = Array.isArray(value) ? { to: value } : check.object('alerts', value);
  if (!o) return undefined;
  const at = Array.isArray(value) ? 'alerts' : 'alerts.to';
  if (!Array.isArray(value))
    check.known('alerts', o, [
      'to',
      'groupWaitMs',
      'groupIntervalMs',
      'repeatIntervalMs',
      'resolveAfterMs',
      'maxGroups',
      'retries',
      'minRetryDelayMs',
      'maxRetryDelayMs',
    ]);
  const to = Array.isArray(o.to) ? (o.to as unknown[]) : [];
  if (!Array.isArray(o.to) || to.length === 0)
    check.issue(at, shapeOf(o.to), 'use an array of destinations, e.g. [webhookAlert({ … })]');
  to.forEach((d, i) => {
    const dest = d as Partial<AlertDestination> | null;
    if (!dest || typeof dest.name !== 'string' || typeof dest.send !== 'function')
      check.issue(`${at}[${i}]`, shapeOf(d), 'use a destination: webhookAlert(), slackAlert() …');
  });
  const ms = (name: string, fallback: number, min: number) =>
    check.int(`alerts.${name}`, o[name], fallback, min, DAY_MS);
  const minRetryDelayMs = ms('minRetryDelayMs', 1000, 1);
  return Object.freeze({
    to: to as AlertDestination[],
    groupWaitMs: ms('groupWaitMs', 30_000, 0),
    groupIntervalMs: ms('groupIntervalMs', 300_000, 1),
    repeatIntervalMs: ms('repeatIntervalMs', 14_400_000, 1),
    resolveAfterMs: o.resolveAfterMs === undefined ? undefined : ms('resolveAfterMs', 0, 1),
    maxGroups: check.int('alerts.maxGroups', o.maxGroups, 10_000, 1, 1_000_000),
    retries: check.int('alerts.retries', o.retries, 3, 0, 100),
    minRetryDelayMs,
    maxRetryDelayMs: Math.max(ms('maxRetryDelayMs', 60_000, 1), minRetryDelayMs),
  });
}

/** A stable hash of (detector, key): the same in every instance sharing the fingerprint key. */
export function groupHash(detector: string, key: string): string {
  return createHash('sha256')
    .update(`${detector}\n${key}`)
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}

/** One (detector, key): its latest detection and where it is in its notification cycle. */
interface Group {
  readonly hash: string;
  readonly startsAt: number;
  latest: AuditEvent;
  detections: number;
  lastDetection: number;
  /** When a notification was last sent (0: never), and whether detections came since. */
  lastSent: number;
  changed: boolean;
  /** A condition that lasts (a silence): no quiet time resolves it, only `clear`. */
  held: boolean;
  timer?: NodeJS.Timeout;
}

/** The fan-out the engine hands each recorded detection to. */
export interface AlertFanout {
  /** `held`: the detection's condition lasts until `clear` says it is over (a silence). */
  add(event: AuditEvent, held?: boolean): void;
  /** The condition of a held group is over: it resolves now (if it was notified). */
  clear(detector: string, key: string): void;
  stats(): AlertStats;
  /** Sends what waits for its group wait, waits for deliveries in flight, closes the destinations. */
  close(): Promise<void>;
}

/**
 * Groups detections by (detector, key) and sends each group's notifications to every destination,
 * off the engine's path: `add` only updates a map and a timer; delivery runs on its own, retried
 * with backoff, counted, never awaited by the batch that made the detection.
 *
 * A group resolves after `resolveAfterMs` without a new detection of its (detector, key): the
 * engine reports when a detector fires, not when an episode ends, and an episode ends at the latest
 * one window after its last event, so the window is the default quiet time.
 */
export function alertFanout(o: ResolvedAlerts): AlertFanout {
  const groups = new Map<string, Group>();
  const inFlight = new Set<Promise<void>>();
  const counts = { sent: 0, failed: 0, retried: 0, dropped: 0 };
  let closed = false;
  /** Retry delays in progress: close() cuts them short. */
  const sleepers = new Set<() => void>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      sleepers.add(done);
    });

  const quiet = (g: Group) =>
    g.held ? Infinity : (o.resolveAfterMs ?? (g.latest.detection?.window_s ?? 300) * 1000);

  /** When the group next needs a look: its group wait, interval, repeat or resolve. */
  function due(g: Group): number {
    if (g.lastSent === 0) return g.startsAt + o.groupWaitMs;
    const next = Math.min(g.lastSent + o.repeatIntervalMs, g.lastDetection + quiet(g));
    return g.changed ? Math.min(next, g.lastSent + o.groupIntervalMs) : next;
  }

  function schedule(g: Group): void {
    clearTimeout(g.timer);
    g.timer = setTimeout(() => tick(g), Math.max(0, due(g) - Date.now()));
    // Alerts never keep a process alive: close() sends what is pending.
    g.timer.unref();
  }

  function tick(g: Group): void {
    const now = Date.now();
    // Timers run on a monotonic clock and may wake a millisecond before Date.now() says.
    if (now < due(g)) return schedule(g);
    if (g.lastSent !== 0 && now >= g.lastDetection + quiet(g)) {
      groups.delete(g.hash);
      notify(g, 'resolved', now);
      return;
    }
    notify(g, 'firing', now);
    g.lastSent = now;
    g.changed = false;
    schedule(g);
  }

  function notify(g: Group, status: AlertNotification['status'], now: number): void {
    // A held group resolves when told: until then it is due again at the next repeat.
    const ends =
      status === 'resolved'
        ? now
        : g.held
          ? now + o.repeatIntervalMs + o.groupIntervalMs
          : g.lastDetection + quiet(g);
    const n = notification(g, status, ends);
    for (const d of o.to) {
      if (inFlight.size >= MAX_IN_FLIGHT) {
        counts.dropped++;
        continue;
      }
      const p = deliver(d, n).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  }

  async function deliver(d: AlertDestination, n: AlertNotification): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await d.send(n);
        counts.sent++;
        return;
      } catch (error) {
        counts.failed++;
        if (alertError.hasSubscribers) alertError.publish({ destination: d.name, error });
      }
      if (attempt >= o.retries || closed) {
        counts.dropped++;
        return;
      }
      const base = Math.min(o.maxRetryDelayMs, o.minRetryDelayMs * 2 ** attempt);
      // Full jitter over the upper half: many instances do not retry in step.
      await sleep(base / 2 + Math.random() * (base / 2));
      if (closed) {
        counts.dropped++;
        return;
      }
      counts.retried++;
    }
  }

  return {
    add(event, held = false) {
      const detection = event.detection;
      if (closed || !detection) return;
      const hash = groupHash(detection.detector, detection.key);
      const now = Date.now();
      let g = groups.get(hash);
      if (g) {
        g.latest = event;
        g.detections++;
        g.lastDetection = now;
        g.changed = true;
        // A group waiting for its first notification keeps its deadline; others may send sooner.
        if (g.lastSent !== 0) schedule(g);
        return;
      }
      if (groups.size >= o.maxGroups) {
        // Bounded memory: the oldest group is resolved now rather than forgotten silently.
        const [oldest] = groups.values();
        clearTimeout(oldest!.timer);
        groups.delete(oldest!.hash);
        if (oldest!.lastSent !== 0) notify(oldest!, 'resolved', now);
        else counts.dropped++;
      }
      g = {
        hash,
        startsAt: now,
        latest: event,
        detections: 1,
        lastDetection: now,
        lastSent: 0,
        changed: false,
        held,
      };
      groups.set(hash, g);
      schedule(g);
    },
    clear(detector, key) {
      const hash = groupHash(detector, key);
      const g = groups.get(hash);
      if (!g) return;
      clearTimeout(g.timer);
      groups.delete(hash);
      // Over within its group wait: nobody was told, so nobody needs the resolve.
      if (g.lastSent !== 0) notify(g, 'resolved', Date.now());
    },
    stats: () => ({ ...counts, groups: groups.size }),
    async close() {
      // Groups still in their group wait are sent now: a detection just before shutdown is not lost.
      for (const g of groups.values()) {
        clearTimeout(g.timer);
        if (g.lastSent === 0) notify(g, 'firing', Date.now());
      }
      groups.clear();
      closed = true;
      for (const done of [...sleepers]) done();
      await Promise.allSettled([...inFlight]);
      await Promise.allSettled(o.to.map((d) => d.close?.()));
    },
  };
}

function notification(
  g: Group,
  status: AlertNotification['status'],
  endsAt: number,
): AlertNotification {
  const e = g.latest;
  const d = e.detection!;
  return {
    id: randomUUID(),
    status,
    group: g.hash,
    detector: d.detector,
    type: e.type,
    severity: d.severity,
    key: d.key,
    count: d.count,
    threshold: d.threshold,
    ...(d.window_s === undefined ? {} : { window_s: d.window_s }),
    detections: g.detections,
    evidence: { first: d.first, last: d.last },
    event: { id: e.id, time: e.time },
    ...(e.user && (e.user.id || e.user.hash)
      ? { user: e.user.id ? { id: e.user.id } : { hash: e.user.hash! } }
      : {}),
    ...(e.client?.id ? { client: { id: e.client.id } } : {}),
    ...(e.source?.ip ? { source: { ip: e.source.ip } } : {}),
    startsAt: new Date(g.startsAt).toISOString(),
    endsAt: new Date(endsAt).toISOString(),
  };
}

/** One line for people: what fired, against whom. Not escaped: Slack escapes its own copy. */
export function summary(n: AlertNotification): string {
  const who = [
    n.user?.id ? `user ${n.user.id}` : n.user?.hash ? `user hash ${n.user.hash}` : '',
    n.client ? `client ${n.client.id}` : '',
    n.source ? `ip ${n.source.ip}` : '',
  ].filter(Boolean);
  const what = `${n.detector} ${n.status} (${n.severity}): ${n.count} events, threshold ${n.threshold}`;
  return who.length > 0 ? `${what}; ${who.join(', ')}` : what;
}
