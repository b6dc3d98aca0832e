import {
  checkOptions,
  formatEvent,
  shapeOf,
  type EventFormat,
  type Sink,
} from '@authtrail/core/sink';
import winston, { type Logger } from 'winston';

/** Set on every info object the sink writes, so formats can tell audit events from app logs. */
export const AUDIT = Symbol.for('authtrail.audit');

/** Options of {@link winstonSink}. */
export interface WinstonSinkOptions {
  /** The level events are logged at; one of the logger's own levels. @default 'info' */
  level?: string;
  /** The shape of each event: `'native'`, `'ecs'` or `'ocsf'`. @default 'native' */
  format?: EventFormat;
}

// How long flush() waits at most for the transports to take what was written.
const FLUSH_LIMIT_MS = 5000;

/**
 * A sink that writes each audit event through an existing winston logger, so its formats,
 * transports and `defaultMeta` apply. Each event becomes one info object:
 * `{ message: event.type, ...event in the chosen format, level, [AUDIT]: true }`.
 * Route audit events to their own transport with {@link auditOnly} and {@link withoutAudit}.
 * Options are checked here: a wrong logger, level or format throws `ERR_AUTHTRAIL_INVALID_OPTIONS`.
 * @example
 * const logger = winston.createLogger({
 *   format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
 *   transports: [new winston.transports.Console()],
 * });
 * app.use(authtrail({ sinks: [winstonSink(logger, { level: 'notice', format: 'ecs' })] }));
 */
export function winstonSink(logger: Logger, options: WinstonSinkOptions = {}): Sink {
  const check = checkOptions('winstonSink', options, 'logger');
  const isLogger =
    logger !== null &&
    typeof logger === 'object' &&
    typeof logger.log === 'function' &&
    logger.levels !== null &&
    typeof logger.levels === 'object';
  if (!isLogger) {
    check.argument(
      shapeOf(logger),
      'pass a logger made by winston.createLogger(), e.g. winstonSink(logger)',
    );
  }
  const level = check.o.level ?? 'info';
  if (isLogger && !Object.hasOwn(logger.levels, level)) {
    check.issue(
      'level',
      shapeOf(level, Object.keys(logger.levels)),
      `use one of the logger's levels (${Object.keys(logger.levels).join(', ')}) or add yours to its levels`,
    );
  }
  const eventFormat = check.format();
  check.done();

  return {
    name: 'winston',
    write(batch) {
      for (const event of batch.events) {
        // A new object per event: the user's formats may change the info object they are given.
        logger.log({
          message: event.type,
          ...formatEvent(event, eventFormat),
          level,
          [AUDIT]: true,
        });
      }
    },
    flush: () => settled(logger),
    // The logger belongs to the app, which may keep logging after authtrail closes: never end it.
    close: () => settled(logger),
  };
}

/**
 * Resolves once the logger and its transports hold no written-but-unprocessed info objects.
 * winston has no flush(): the documented way to wait for transports is `logger.end()` and the
 * `finish` event, which ends the user's logger. So this watches the public stream state instead
 * (the logger's readable buffer, each transport's writable buffer) and polls it on each event-loop
 * turn, for at most FLUSH_LIMIT_MS so a stuck transport cannot hold a shutdown forever. I/O a
 * transport does on its own after accepting an entry (a File transport's fs stream) is beyond what
 * a logger shows, and is not waited for.
 */
async function settled(logger: Logger): Promise<void> {
  const busy = () =>
    logger.readableLength > 0 || logger.transports.some((t) => t.writableLength > 0);
  const deadline = Date.now() + FLUSH_LIMIT_MS;
  while (busy() && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * A winston format for the audit transport: lets through only the events {@link winstonSink} wrote.
 * @example
 * new winston.transports.File({ filename: 'audit.log', format: auditOnly() })
 */
export const auditOnly = winston.format((info) =>
  (info as Record<symbol, unknown>)[AUDIT] ? info : false,
);

/**
 * A winston format for application transports: drops the events {@link winstonSink} wrote, so they
 * go only where {@link auditOnly} lets them.
 * @example
 * new winston.transports.Console({ format: winston.format.combine(withoutAudit(), winston.format.cli()) })
 */
export const withoutAudit = winston.format((info) =>
  (info as Record<symbol, unknown>)[AUDIT] ? false : info,
);
