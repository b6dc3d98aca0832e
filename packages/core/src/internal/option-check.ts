import {
  EVENT_FORMATS,
  isEventFormat,
  type EventFormat,
  type LineFormat,
  type OptionIssue,
} from '@authtrail/schema';
import { invalidOptions, shapeOf } from '../errors.js';

/**
 * What the sinks for people take (`stdoutSink`, `memorySink`): the JSON formats and `pretty`, one
 * readable line per event for development. Sinks whose output a machine reads reject `pretty`.
 */
export const LINE_FORMATS = [...EVENT_FORMATS, 'pretty'] as const satisfies readonly LineFormat[];

/**
 * The options of one factory call, and every problem found in them so far. Problems are collected,
 * not thrown one by one, so that {@link OptionCheck.done} reports all of them at once in one
 * `AuthtrailError` of code `ERR_AUTHTRAIL_INVALID_OPTIONS`. This is the one option-check kit of
 * authtrail: core's own options, the policy, the sign-in form, the verifier and every sink use it,
 * so every problem names its place one way, as the call it was given in:
 *
 * - `createAuditor({ delivery.maxBatch })`, `fileSink(path, { maxBytes })`: an option, by its
 *   dotted path inside the options object (`keys.chain[0].id`, `headers.x-token`);
 * - `httpSink(url)`: a positional argument; `createAuditor(options)`: the options object itself.
 *
 * The call is named because a sink's options are a call of their own, inside the auditor's.
 */
export interface OptionCheck<T> {
  /** The factory's name, first word of every problem's path (`'mySink'`). */
  readonly fn: string;
  /** The options given, or `{}` when they are not an object (a problem already reported). */
  readonly o: T & Record<string, unknown>;
  /** The problems found so far. Report through {@link issue} or {@link argument}, so paths stay one notation. */
  readonly issues: OptionIssue[];
  /**
   * Reports a problem with the option at dotted `path` (`'gzip'`, `'sign.key'`), shown as
   * `fn(<leading>, { path })`. Describe what was received with `shapeOf(value)`, never the value
   * itself: options hold secrets.
   */
  issue(path: string, received: string, fix: string): void;
  /** Reports a problem with the positional argument `leading` itself, shown as `fn(<leading>)`. */
  argument(received: string, fix: string): void;
  /** Where option `path` is, as problems name it: `fn(<leading>, { path })`. */
  at(path: string): string;
  /**
   * Option `format`, checked: one of `'native'`, `'ecs'`, `'ocsf'`, or `fallback` when absent. A
   * wrong value is reported, and `fallback` returned so that checking can go on.
   */
  format(fallback?: EventFormat): EventFormat;
  /**
   * `value` (at `path`, `''` for the options themselves) when it is a plain object, `{}` when it is
   * absent; anything else is reported (with `fix`) and gives `undefined`.
   */
  object(path: string, value: unknown, fix?: string): Record<string, unknown> | undefined;
  /** Reports every own key of `value` (at `path`) that is not in `names`. */
  known(path: string, value: Record<string, unknown>, names: readonly string[]): void;
  /** `value` (at `path`) if it is a boolean, `fallback` if absent; anything else is reported. */
  bool(path: string, value: unknown, fallback: boolean): boolean;
  /**
   * `value` (at `path`) if it is a whole number from `min` to `max`, `fallback` if absent; anything
   * else is reported and gives `fallback`.
   */
  int(path: string, value: unknown, fallback: number, min: number, max: number): number;
  /** `value` (at `path`) if it is one of `choices`, `fallback` if absent; a mistyped word is shown. */
  oneOf<C extends string>(path: string, value: unknown, choices: readonly C[], fallback: C): C;
  /** Throws every problem reported, if there is any: call it once, after the last check. */
  done(): void;
}

/** Where option `path` of call `fn` is: the one notation of every option problem (see {@link OptionCheck}). */
export function optionPath(fn: string, leading: string, path: string): string {
  const before = leading === '' ? '' : `${leading}, `;
  return path === '' ? `${fn}(${before}options)` : `${fn}(${before}{ ${path} })`;
}

/**
 * Starts checking the options of factory `fn`. `leading` names the parameters before the options
 * object as problem paths show them (`'url'` gives `mySink(url, { gzip })`; `''` gives
 * `mySink({ gzip })`). Options that are not an object (nor `undefined`) are reported at once.
 * @example
 * export function mySink(url: string, options: MySinkOptions = {}): Sink {
 *   const check = checkOptions('mySink', options);
 *   const tag = check.o.tag ?? 'audit';
 *   if (typeof tag !== 'string') check.issue('tag', shapeOf(tag), 'use a string');
 *   const batch = check.int('batch', check.o.batch, 100, 1, 10_000);
 *   const format = check.format();
 *   check.done(); // throws ERR_AUTHTRAIL_INVALID_OPTIONS listing every problem
 *   // ... the sink, built from checked values only
 * }
 */
export function checkOptions<T>(fn: string, options: T, leading = 'url'): OptionCheck<T> {
  const issues: OptionIssue[] = [];
  const at = (path: string) => optionPath(fn, leading, path);
  const issue = (path: string, received: string, fix: string) => {
    issues.push({ path: at(path), received, fix });
  };
  const object = (
    path: string,
    value: unknown,
    fix = 'use an options object',
  ): Record<string, unknown> | undefined => {
    if (value === undefined) return {};
    if (value !== null && typeof value === 'object' && !Array.isArray(value))
      return value as Record<string, unknown>;
    issue(path, shapeOf(value), fix);
    return undefined;
  };
  const o = (object('', options) ?? {}) as T & Record<string, unknown>;
  return {
    fn,
    o,
    issues,
    issue,
    argument(received, fix) {
      issues.push({ path: `${fn}(${leading})`, received, fix });
    },
    at,
    format(fallback = 'native') {
      const value = o.format ?? fallback;
      if (isEventFormat(value)) return value;
      issue(
        'format',
        shapeOf(value, EVENT_FORMATS),
        `use one of ${EVENT_FORMATS.map((f) => `'${f}'`).join(', ')}`,
      );
      return fallback;
    },
    object,
    known(path, value, names) {
      const prefix = path === '' ? '' : `${path}.`;
      for (const key of Object.keys(value))
        if (!names.includes(key))
          issue(
            prefix + key,
            shapeOf(value[key]),
            `unknown option; known options are ${names.join(', ')}`,
          );
    },
    bool(path, value, fallback) {
      if (value === undefined) return fallback;
      if (typeof value === 'boolean') return value;
      issue(path, shapeOf(value), 'use true or false');
      return fallback;
    },
    int(path, value, fallback, min, max) {
      if (value === undefined) return fallback;
      if (Number.isInteger(value) && (value as number) >= min && (value as number) <= max)
        return value as number;
      issue(path, shapeOf(value), `use a whole number from ${min} to ${max}`);
      return fallback;
    },
    oneOf(path, value, choices, fallback) {
      if (value === undefined) return fallback;
      if (choices.includes(value as (typeof choices)[number])) return value as typeof fallback;
      issue(path, shapeOf(value, choices), `use one of ${choices.map((c) => `'${c}'`).join(', ')}`);
      return fallback;
    },
    done() {
      if (issues.length > 0) throw invalidOptions(issues);
    },
  };
}
