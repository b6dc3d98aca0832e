import { ERROR_KEY } from '../node/symbols.js';

/**
 * What adapters need to know of node-oidc-provider: the errors it renders itself, which only its
 * events tell. Its `ctx.oidc` (route, client, params, entities) is read by the event builder, in
 * `observe/op.ts`: the adapter only passes the reference on.
 */

/** What {@link noteProviderErrors} needs of a node-oidc-provider instance (`ctx.oidc.provider`). */
export interface ErrorEmitter {
  on(event: string, listener: (ctx: { [ERROR_KEY]?: unknown }, error: unknown) => void): unknown;
}

/** The provider's events that carry an error it rendered itself (its HTTP response hides it). */
const PROVIDER_ERROR_EVENTS = [
  'authorization.error',
  'grant.error',
  'end_session.error',
  'revocation.error',
  'introspection.error',
  'userinfo.error',
  'server_error',
];

const listening = new WeakSet<object>();
const noteError = (ctx: { [ERROR_KEY]?: unknown }, error: unknown) => void (ctx[ERROR_KEY] = error);

/**
 * Notes each error node-oidc-provider reports through its events on the request's context, under
 * `ERROR_KEY`, where the adapter reads the request's error. Listens once per provider.
 */
export function noteProviderErrors(provider: ErrorEmitter | undefined): void {
  if (provider === undefined || listening.has(provider)) return;
  listening.add(provider);
  for (const event of PROVIDER_ERROR_EVENTS) provider.on(event, noteError);
}
