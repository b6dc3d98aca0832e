/**
 * The `authorization` header that sends `token` as a bearer token, for supertest's `.set()` (or
 * `fetch`'s `headers`).
 * @example
 * await request(app).get('/items').set(bearer(await issuer.token())).expect(200);
 */
export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

/**
 * Sets `token` as the bearer token of a supertest request (anything with `.set(name, value)`).
 * @example
 * await withToken(request(app).get('/items'), await issuer.expired()).expect(401);
 */
export function withToken<R extends { set(name: string, value: string): R }>(
  req: R,
  token: string,
): R {
  return req.set('authorization', `Bearer ${token}`);
}
