import type { DetectionInfo } from '@authtrail/schema';
import type { Detector, DetectorState, Held, Sighting, Silence, SilenceRule } from '../types.js';

/** A `silence` rule as the engine runs it: the detector it belongs to. */
export interface SilenceSlot {
  readonly d: Detector;
  readonly rule: SilenceRule;
}

/** What the engine does with a silence: record its decision, end its alert. */
export interface SilenceHooks {
  /** Records the decision; true when it was recorded (and its alert is then held). */
  fire(d: Detector, detection: DetectionInfo): boolean;
  /** The silence is over: its alert resolves. */
  over(d: Detector, key: string): void;
}

/** The engine's side of the `silence` rules: sightings per batch, and the tick that finds silences. */
export interface SilenceWatch {
  /** Queues a sighting for the batch's one `watch` call. */
  see(sighting: Sighting, every_s: number): void;
  /** Sends the batch's sightings to the state. */
  flush(): Promise<void>;
  /** Stops the tick (and waits for one under way). */
  close(): Promise<void>;
}

/** The tick's bounds: a quarter of the shortest interval seen, within these. */
const MIN_TICK_MS = 250;
const MAX_TICK_MS = 15_000;
/** Silences held at most: each one's alert stays firing until it is over. */
const MAX_HELD = 10_000;

/**
 * Silence is the absence of events, so no event can make a `silence` rule fire: a timer does. It
 * asks the state, every quarter of the shortest interval this engine has seen (15 s before it has
 * seen one; 250 ms at the least), which keys went silent, each handed to one engine once, and
 * which of the silences this engine reported are over. The timer never keeps the process alive.
 */
export function silenceWatch(
  state: Required<Pick<DetectorState, 'watch' | 'silent'>>,
  slots: ReadonlyMap<string, SilenceSlot>,
  hooks: SilenceHooks,
): SilenceWatch {
  let pending: Sighting[] = [];
  let shortest = Infinity;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let closed = false;
  const names = [...slots.keys()];
  const held = new Map<string, Held>();

  const period = () =>
    Math.min(
      MAX_TICK_MS,
      Math.max(MIN_TICK_MS, Number.isFinite(shortest) ? shortest / 4 : MAX_TICK_MS),
    );

  function schedule(): void {
    if (closed) return;
    timer = setTimeout(() => {
      running = tick().finally(() => {
        running = undefined;
        schedule();
      });
    }, period());
    timer.unref();
  }

  async function tick(): Promise<void> {
    const now = Date.now();
    let answer;
    try {
      answer = await state.silent(names, now, [...held.values()]);
    } catch {
      // A state that threw (a custom one): the next tick asks again.
      return;
    }
    // Over first: a key seen again and silent again since the last tick is a new silence.
    for (const h of answer.over) {
      const id = `${h.slot}\u0000${h.key}`;
      if (!held.delete(id)) continue;
      const s = slots.get(h.slot);
      if (s) hooks.over(s.d, h.key);
    }
    for (const silence of answer.silent) {
      const s = slots.get(silence.slot);
      if (!s) continue;
      if (hooks.fire(s.d, detection(s, silence, now)) && held.size < MAX_HELD)
        held.set(`${silence.slot}\u0000${silence.key}`, { slot: silence.slot, key: silence.key });
    }
  }

  schedule();
  return {
    see(sighting, every_s) {
      pending.push(sighting);
      if (every_s * 1000 < shortest) {
        const before = period();
        shortest = every_s * 1000;
        // A shorter interval than the tick was made for: tick at its pace from now on.
        if (period() < before && timer && !running) {
          clearTimeout(timer);
          schedule();
        }
      }
    },
    async flush() {
      if (pending.length === 0) return;
      const sightings = pending;
      pending = [];
      await state.watch(sightings);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/**
 * The decision: the key silent for `count` of its intervals (`missed` at least), the evidence its
 * last sighting (first and last: the silence began after it).
 */
function detection(s: SilenceSlot, silence: Silence, now: number): DetectionInfo {
  const every = (silence.quiet_s / s.rule.missed) * 1000;
  return {
    detector: s.d.name,
    key: silence.key,
    severity: s.d.severity,
    count: Math.max(s.rule.missed, Math.floor((now - silence.time) / every)),
    threshold: s.rule.missed,
    window_s: Math.max(1, Math.round(silence.quiet_s)),
    first: silence.id,
    last: silence.id,
    first_time: new Date(silence.time).toISOString(),
  };
}
