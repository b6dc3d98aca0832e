/**
 * `@authtrail/console`: the authtrail console's server. `consoleHandler(options)` is a plain Node
 * handler serving a JSON API over a store (overview, search, event detail with its ECS and OCSF
 * renderings, trails, live tail, export), behind sessions, roles and CSRF checks; every call is
 * itself an audit event. Mount it in Express, Koa or Fastify, or run `authtrail console`.
 * @example
 * import express from 'express';
 * import { consoleHandler } from '@authtrail/console';
 *
 * app.use('/audit', consoleHandler({ store, auditor, auth: (req) => whoIs(req) }));
 * @packageDocumentation
 */
export { consoleHandler } from './console-handler.js';
export { CSP } from './internal/http.js';
export type {
  ConsoleAuth,
  ConsoleHandler,
  ConsoleOptions,
  ConsolePrincipal,
  ConsoleRole,
} from './types.js';
