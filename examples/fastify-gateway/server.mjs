// npm start: a Fastify API gateway on http://127.0.0.1:4100 (PORT to change) whose every bearer-token
// call is audited, with tokens verified by @fastify/jwt and, for the exact reason of a rejection,
// by authtrail itself. ISSUER / AUDIENCE point it at your provider; without them it starts the
// example provider in the same process, so it runs with no setup.
import { createPublicKey } from 'node:crypto';
import Fastify from 'fastify';
import fastifyJwt from '@fastify/jwt';
import { authtrail } from '@authtrail/fastify';
import { AUDIENCE, MACHINE, startProvider } from '@authtrail/example-koa-op/provider.mjs';

const op = process.env.ISSUER
  ? undefined
  : await startProvider({ sinks: [{ name: 'quiet', write() {} }] });
const issuer = process.env.ISSUER ?? op.issuer;
const audience = process.env.AUDIENCE ?? AUDIENCE;
const { jwks_uri: jwksUri } = await (
  await fetch(`${issuer}/.well-known/openid-configuration`)
).json();
const { keys } = await (await fetch(jwksUri)).json();
const publicKey = createPublicKey({ key: keys[0], format: 'jwk' }).export({
  type: 'spki',
  format: 'pem',
});

const app = Fastify();
await app.register(authtrail, {
  service: 'reports-gateway',
  verify: { issuer, audience, jwksUri },
});
await app.register(fastifyJwt, {
  secret: { public: publicKey },
  verify: { allowedIss: issuer, allowedAud: audience },
});
app.addHook('onRequest', async (request, reply) => {
  try {
    await request.jwtVerify();
  } catch {
    const error = request.headers.authorization ? ', error="invalid_token"' : '';
    return reply
      .code(401)
      .header('WWW-Authenticate', `Bearer realm="reports"${error}`)
      .send({ error: 'unauthorized' });
  }
});
app.get('/reports', async (request) => ({ reports: ['q3.pdf'], for: request.user.sub }));

const url = await app.listen({ port: Number(process.env.PORT ?? 4100), host: '127.0.0.1' });
process.stderr.write(`Gateway on ${url}; audit events follow on stdout.\n`);

// Show the three usual outcomes once, then wait for your own calls.
const token = await (
  await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${MACHINE.client_id}:${MACHINE.client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials&scope=reports:read',
  })
).json();
await fetch(`${url}/reports`, { headers: { authorization: `Bearer ${token.access_token}` } });
await fetch(`${url}/reports`, {
  headers: { authorization: `Bearer ${token.access_token.slice(0, -4)}AAAA` },
});
await fetch(`${url}/reports`);

if (process.argv.includes('--once')) {
  await app.close();
  await op?.close();
} else {
  process.stderr.write(
    `Try: curl -s ${url}/reports -H "authorization: Bearer <token>"\nCtrl-C to stop.\n`,
  );
  process.once('SIGINT', async () => {
    await app.close();
    await op?.close();
    process.exit(0);
  });
}
