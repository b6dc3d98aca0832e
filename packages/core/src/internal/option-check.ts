import { invalidOptions, shapeOf, type OptionIssue } from '../errors.js';
import { EVENT_FORMATS, isEventFormat } from '../formats/index.js';
import type { EventFormat } from '../types.js';

/**
 * The options of one sink factory call, and every problem found in them so far. Problems are
 * collected, not thrown one by one, so that {@link OptionCheck.done} reports all of them at once in
 * one `AuthtrailError` of code `ERR_AUTHTRAIL_INVALID_OPTIONS`, as core's own options do.
 */
export interface OptionCheck<T> {
  /** The factory's name, first word of every problem's path (`'mySink'`). */
  readonly fn: string;
  /** The options given, or `{}` when they are not an object (a problem already reported). */
  readonly o: T & Record<string, unknown>;
  /** The problems found so far; push one whose path is not an option (a positional argument). */
  readonly issues: OptionIssue[];
  /**
   * Reports a problem with option `name`, at the path `fn(<leading>, { name })`. Describe what was
   * received with `shapeOf(value)`, never the value itself: options hold secrets.
   */
  issue(name: string, received: string, fix: string): void;
  /**
   * Option `format`, checked: one of `'native'`, `'ecs'`, `'ocsf'`, or `fallback` when absent. A
   * wrong value is reported, and `fallback` returned so that checking can go on.
   */
  format(fallback?: EventFormat): EventFormat;
  /** Throws every problem reported, if there is any: call it once, after the last check. */
  done(): void;
}

/**
 * Starts checking the options of sink factory `fn`. `leading` names the parameters before the
 * options object as problem paths show them (`'url'` gives `mySink(url, { gzip })`). Options that
 * are not an object (nor `undefined`) are reported at once.
 * @example
 * export function mySink(url: string, options: MySinkOptions = {}): Sink {
 *   const check = checkOptions('mySink', options);
 *   const tag = check.o.tag ?? 'audit';
 *   if (typeof tag !== 'string') check.issue('tag', shapeOf(tag), 'use a string');
 *   const format = check.format();
 *   check.done(); // throws ERR_AUTHTRAIL_INVALID_OPTIONS listing every problem
 *   // ... the sink, built from checked values only
 * }
 */
export function checkOptions<T>(fn: string, options: T, leading = 'url'): OptionCheck<T> {
  const issues: OptionIssue[] = [];
  const isObject = options !== null && typeof options === 'object' && !Array.isArray(options);
  if (!isObject && options !== undefined)
    issues.push({
      path: `${fn}(${leading}, options)`,
      received: shapeOf(options),
      fix: 'use an options object',
    });
  const o = (isObject ? options : {}) as T & Record<string, unknown>;
  const issue = (name: string, received: string, fix: string) => {
    issues.push({ path: `${fn}(${leading}, { ${name} })`, received, fix });
  };
  return {
    fn,
    o,
    issues,
    issue,
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
    done() {
      if (issues.length > 0) throw invalidOptions(issues);
    },
  };
}
