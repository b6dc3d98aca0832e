// npm start: an OpenID Provider audited by authtrail, on http://127.0.0.1:4000 (PORT to change).
// It issues a token to a machine client and introspects it once, so events show right away; then
// try it with curl (the commands are printed).
import { MACHINE, startProvider } from './provider.mjs';

const port = Number(process.env.PORT ?? 4000);
const { issuer, close } = await startProvider({ port });
const basic = `Basic ${Buffer.from(`${MACHINE.client_id}:${MACHINE.client_secret}`).toString('base64')}`;
const form = { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' };

process.stderr.write(`OpenID Provider on ${issuer}; audit events follow on stdout.\n`);
const res = await fetch(`${issuer}/token`, {
  method: 'POST',
  headers: form,
  body: 'grant_type=client_credentials&scope=reports:read',
});
const { access_token: token } = await res.json();
await fetch(`${issuer}/token`, {
  method: 'POST',
  headers: { ...form, authorization: 'Basic d3Jvbmc6c2VjcmV0' },
  body: 'grant_type=client_credentials',
});
await fetch(`${issuer}/token/introspection`, {
  method: 'POST',
  headers: form,
  body: `token=${encodeURIComponent(token)}`,
});

process.stderr.write(
  `\nTry:\n  curl -s -u ${MACHINE.client_id}:${MACHINE.client_secret} -d grant_type=client_credentials -d scope=reports:read ${issuer}/token\n` +
    `Ctrl-C to stop.\n`,
);
if (process.argv.includes('--once')) await close();
else process.once('SIGINT', () => close().then(() => process.exit(0)));
