// The floor: the least an audit line per bearer-token request can cost in this harness. A hand-written
// logger with nothing authtrail adds: claims decoded and a keyed fingerprint made once per token (a
// Map keyed by the Authorization header), a 14-field event (who, client, scopes, fingerprint, route,
// status, latency, source), JSON.stringify, and one append per event-loop turn with fs.write. No
// redaction, no hostile-input bounds, no delivery contract, no flush on exit, no OIDC routes.
//
// It is a reference, not a product: a target that this floor misses in the same run is out of reach
// for any logger doing the same work on the request's thread, authtrail included.
import { createHmac, randomUUID } from 'node:crypto';
import { openSync, write } from 'node:fs';

/**
 * `record(facts)` appends one line; lines written so far are on disk one turn later. `padding` adds
 * that many bytes to each line (the `floor-wide` config: lines as long as authtrail's).
 */
export function floorLogger(file, padding = 0) {
  const pad = padding > 0 ? 'x'.repeat(padding) : undefined;
  const fd = openSync(file, 'a');
  const tokens = new Map();
  let lines = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const text = lines.join('');
    lines = [];
    write(fd, text, () => {});
  };
  const claimsOf = (authorization) => {
    let seen = tokens.get(authorization);
    if (seen === undefined) {
      const token = authorization.slice(7);
      let claims = {};
      try {
        claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
      } catch {
        // not a JWT: fingerprint only
      }
      seen = {
        fingerprint: createHmac('sha256', 'floor-key')
          .update(token)
          .digest('base64url')
          .slice(0, 22),
        sub: claims.sub,
        client: claims.client_id,
        scope: claims.scope,
      };
      if (tokens.size < 1000) tokens.set(authorization, seen);
    }
    return seen;
  };
  return function record({ headers, method, path, route, status, durationMs, ip }) {
    const auth = headers.authorization;
    const token = auth?.startsWith('Bearer ') ? claimsOf(auth) : undefined;
    const event = {
      time: new Date().toISOString(),
      id: randomUUID(),
      type: status < 400 ? 'api.access.success' : 'api.access.failure',
      user: token?.sub,
      client: token?.client,
      scope: token?.scope,
      fingerprint: token?.fingerprint,
      method,
      path,
      route,
      status,
      duration_ms: durationMs,
      ip,
      user_agent: headers['user-agent'],
      pad,
    };
    lines.push(JSON.stringify(event) + '\n');
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

/** The floor logger mounted the cheapest way each framework allows. */
export const floor = {
  express(app, file, padding) {
    const record = floorLogger(file, padding);
    app.use((req, res, next) => {
      const t0 = performance.now();
      res.on('close', () =>
        record({
          headers: req.headers,
          method: req.method,
          path: req.originalUrl,
          route: req.route?.path,
          status: res.statusCode,
          durationMs: performance.now() - t0,
          ip: req.socket.remoteAddress,
        }),
      );
      next();
    });
  },
  koa(app, file, padding) {
    const record = floorLogger(file, padding);
    app.use(async (ctx, next) => {
      const t0 = performance.now();
      try {
        await next();
      } finally {
        record({
          headers: ctx.headers,
          method: ctx.method,
          path: ctx.url,
          route: undefined,
          status: ctx.status,
          durationMs: performance.now() - t0,
          ip: ctx.socket.remoteAddress,
        });
      }
    });
  },
  fastify(app, file, padding) {
    const record = floorLogger(file, padding);
    const T0 = Symbol('t0');
    app.decorateRequest(T0, 0);
    app.addHook('onRequest', (request, _reply, done) => {
      request[T0] = performance.now();
      done();
    });
    app.addHook('onResponse', (request, reply, done) => {
      record({
        headers: request.headers,
        method: request.method,
        path: request.url,
        route: undefined, // request.routeOptions builds an object per call: the floor skips it
        status: reply.statusCode,
        durationMs: performance.now() - request[T0],
        ip: request.socket.remoteAddress,
      });
      done();
    });
  },
};
