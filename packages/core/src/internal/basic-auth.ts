/**
 * The user name of a Basic `authorization` header: the client id a client authenticating with
 * `client_secret_basic` claimed (RFC 6749 section 2.3.1 form-encodes it before base64). The password
 * (the client secret) is decoded with it by necessity and dropped here: only the part before the
 * first colon leaves this function. Anything that is not a well-formed Basic header gives undefined.
 */
export function basicUserName(header: unknown): string | undefined {
  // 4 kB covers any real client id and secret; a longer header is not decoded at all.
  if (typeof header !== 'string' || header.length > 4096) return undefined;
  const encoded = /^basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header)?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  // Without a colon the value is not user:password and may be a bare secret: nothing is taken.
  if (colon <= 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
  } catch {
    return undefined; // not form-encoded as the RFC asks; oidc-provider rejects it too
  }
}
