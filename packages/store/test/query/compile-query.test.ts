import {
  compileQuery,
  MAX_DEPTH,
  MAX_QUERY_LENGTH,
  MAX_TERMS,
  QUERY_FIELDS,
} from '../../src/query/index.js';

/** The error `fn` throws; fails the test when it does not throw. */
function thrown(
  fn: () => unknown,
): Error & { code?: string; position?: number; issues?: unknown[] } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string; position?: number };
  }
  throw new Error('expected a throw');
}

describe('compileQuery: options', () => {
  test.each([0, -1, 1.5, Number.NaN, 70000, '2' as unknown as number])(
    'refuses firstParam %p with ERR_AUTHTRAIL_INVALID_OPTIONS naming the option',
    (firstParam) => {
      const error = thrown(() => compileQuery('user:alice', { firstParam }));
      expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
      expect(error.issues).toEqual([expect.objectContaining({ path: 'firstParam' })]);
    },
  );

  test('refuses a query that is not a string with ERR_AUTHTRAIL_INVALID_QUERY', () => {
    const error = thrown(() => compileQuery(42 as unknown as string));
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_QUERY');
    expect(error.message).toBe('authtrail: invalid query: expected a string');
    expect('position' in error).toBe(false);
  });
});

describe('compileQuery: the language', () => {
  test.each<[string, string, unknown[]]>([
    ['', 'TRUE', []],
    ['   \t\n', 'TRUE', []],
    ['outcome:failure', 'outcome = $1', ['failure']],
    ['type:authn.login.failure', 'type = $1', ['authn.login.failure']],
    ['type:authn.login.*', 'type LIKE $1', ['authn.login.%']],
    // Literal parts are LIKE-escaped: `_` in a type name, `%` and `\` in a route stay themselves.
    ['type:authn.token_refresh.*', 'type LIKE $1', ['authn.token\\_refresh.%']],
    ['route:/a%b\\\\c/*', 'route LIKE $1', ['/a\\%b\\\\c/%']],
    ['client:*app*', 'client_id LIKE $1', ['%app%']],
    ['client:"web app"', 'client_id = $1', ['web app']],
    ['client:"web *"', 'client_id LIKE $1', ['web %']],
    ['client:"a\\*b"', 'client_id = $1', ['a*b']],
    ['client:"say \\"hi\\" \\\\ bye"', 'client_id = $1', ['say "hi" \\ bye']],
    ['client:a\\ b', 'client_id = $1', ['a b']],
    ['reason:*', 'reason IS NOT NULL', []],
    ['-reason:*', '(reason IS NOT NULL) IS NOT TRUE', []],
    ['user:*', '(user_id IS NOT NULL OR user_hash IS NOT NULL)', []],
    ['user:alice', '(user_id = $1 OR user_hash = $1)', ['alice']],
    ['user:"a:b"', '(user_id = $1 OR user_hash = $1)', ['a:b']],
    ['user:a:b', '(user_id = $1 OR user_hash = $1)', ['a:b']],
    ['ip:203.0.113.7', 'source_ip <<= $1::inet', ['203.0.113.7']],
    ['ip:203.0.113.0/24', 'source_ip <<= $1::inet', ['203.0.113.0/24']],
    ['ip:2001:db8::/32', 'source_ip <<= $1::inet', ['2001:db8::/32']],
    ['ip:::ffff:192.0.2.1', 'source_ip <<= $1::inet', ['::ffff:192.0.2.1']],
    ['status:401', 'status = $1', [401]],
    ['status:>=500', 'status >= $1', [500]],
    ['status:<400', 'status < $1', [400]],
    ['status:400..499', 'status BETWEEN $1 AND $2', [400, 499]],
    [
      'id:0193A1B2-0000-7000-8000-00000000000A',
      'id = $1::uuid',
      ['0193a1b2-0000-7000-8000-00000000000a'],
    ],
    [
      'flow:f1 token:fp1 trace:t1',
      '(flow_id = $1 AND token_fp = $2 AND trace_id = $3)',
      ['f1', 'fp1', 't1'],
    ],
    ['service:api instance:i-1', '(service = $1 AND instance = $2)', ['api', 'i-1']],
    [
      'outcome:failure AND user:bob',
      '(outcome = $1 AND (user_id = $2 OR user_hash = $2))',
      ['failure', 'bob'],
    ],
    [
      'outcome:failure OR outcome:detected',
      '(outcome = $1 OR outcome = $2)',
      ['failure', 'detected'],
    ],
    // AND binds tighter than OR, implicit or written.
    [
      'reason:x OR reason:y outcome:failure',
      '(reason = $1 OR (reason = $2 AND outcome = $3))',
      ['x', 'y', 'failure'],
    ],
    [
      '(reason:x OR reason:y) outcome:failure',
      '((reason = $1 OR reason = $2) AND outcome = $3)',
      ['x', 'y', 'failure'],
    ],
    ['NOT outcome:success', '(outcome = $1) IS NOT TRUE', ['success']],
    ['-(reason:x OR reason:y)', '((reason = $1 OR reason = $2)) IS NOT TRUE', ['x', 'y']],
    ['NOT -reason:x', '((reason = $1) IS NOT TRUE) IS NOT TRUE', ['x']],
    ['((user:alice))', '(user_id = $1 OR user_hash = $1)', ['alice']],
    [
      'type:authn.login.* outcome:failure user:alice ip:203.0.113.0/24 -reason:idp_error client:"web app"',
      '(type LIKE $1 AND outcome = $2 AND (user_id = $3 OR user_hash = $3) AND source_ip <<= $4::inet AND (reason = $5) IS NOT TRUE AND client_id = $6)',
      ['authn.login.%', 'failure', 'alice', '203.0.113.0/24', 'idp_error', 'web app'],
    ],
  ])('compiles %j', (query, where, params) => {
    expect(compileQuery(query)).toEqual({ where, params });
  });

  test('numbers placeholders from firstParam, so a fragment joins a statement with its own', () => {
    const q = compileQuery('user:alice status:400..499 -reason:x', { firstParam: 3 });
    expect(q.where).toBe(
      '((user_id = $3 OR user_hash = $3) AND status BETWEEN $4 AND $5 AND (reason = $6) IS NOT TRUE)',
    );
    expect(q.params).toEqual(['alice', 400, 499, 'x']);
  });

  test('puts SQL injection attempts into params only', () => {
    for (const value of [
      "x' OR 1=1 --",
      'x"; DROP TABLE events; --',
      '$1) OR (1=1',
      "'; SELECT pg_sleep(10); --",
    ]) {
      const escaped = value.replace(/["\\]/g, '\\$&');
      const q = compileQuery(`user:"${escaped}" OR client:"${escaped}"`);
      expect(q.where).toBe('((user_id = $1 OR user_hash = $1) OR client_id = $2)');
      expect(q.params).toEqual([value, value]);
    }
  });

  test('accepts a query of exactly the limits', () => {
    const terms = Array.from({ length: MAX_TERMS }, (_, i) => `reason:r${i}`).join(' ');
    expect(compileQuery(terms).params).toHaveLength(MAX_TERMS);
    const nested = `${'('.repeat(MAX_DEPTH)}user:a${')'.repeat(MAX_DEPTH)}`;
    expect(compileQuery(nested).params).toEqual(['a']);
    const long = `user:${'a'.repeat(MAX_QUERY_LENGTH - 5)}`;
    expect(compileQuery(long).params).toEqual(['a'.repeat(MAX_QUERY_LENGTH - 5)]);
  });
});

describe('compileQuery: errors say where and what was expected', () => {
  const fields = QUERY_FIELDS.join(', ');
  test.each<[string, number, string]>([
    [
      'type:authn.login.* AND (user:alice',
      35,
      "expected ')' to close the '(' at 24, found end of query",
    ],
    ['(user:a OR user:b', 18, "expected ')' to close the '(' at 1, found end of query"],
    ['user:a)', 7, "unexpected ')' with no '(' open"],
    ['()', 2, "expected a field:value term, found ')'"],
    ['user:a OR', 10, 'expected a field:value term, found end of query'],
    ['OR user:a', 1, 'expected a field:value term, found OR'],
    ['user:a AND AND user:b', 12, 'expected a field:value term, found AND'],
    ['NOT', 4, 'expected a field:value term, found end of query'],
    ['- user:a', 1, "expected a field:value term or '(' right after '-'"],
    ['user:a -', 8, "expected a field:value term or '(' right after '-'"],
    ['alice', 1, `"alice" has no field: write field:value, e.g. user:"alice"; fields: ${fields}`],
    ['authn.login.failure', 1, 'write type:"authn.login.failure"'],
    ['user:a 10.0.0.0/8', 8, 'write ip:"10.0.0.0/8"'],
    ['500', 1, 'write status:500'],
    ['user:a and user:b', 8, 'operators are written in capitals: AND'],
    ['usr:alice', 1, `unknown field "usr"; fields: ${fields}`],
    ['Type:x', 1, 'unknown field "Type"'],
    ['__proto__:x', 1, 'unknown field "__proto__"'],
    [':x', 1, "expected a field name before ':'"],
    ['user:', 6, 'expected a value after "user:"'],
    ['user: alice', 6, 'expected a value after "user:"'],
    ['user:""', 6, 'expected a value after "user:"'],
    ['client:"web app', 16, "expected '\"' to close the quote opened at 8"],
    ['client"web"', 7, 'expected \':\' between the field "client" and its quoted value'],
    ['"web app"', 1, 'expected a field before the quoted value, e.g. client:"web app"'],
    ['user:ab"c', 8, "unexpected '\"' inside a value"],
    ['user:abc\\', 9, "expected a character after '\\'"],
    ['user:al*', 6, "'*' is a wildcard only in type, client, route values"],
    ['outcome:failed', 9, 'expected success, failure or detected, found "failed"'],
    [
      'ip:10.0.0.256',
      4,
      'expected an IP address or a CIDR range (203.0.113.0/24), found "10.0.0.256"',
    ],
    ['ip:10.0.0.0/33', 4, 'expected an IP address or a CIDR range'],
    ['ip:2001:db8:::1', 4, 'expected an IP address or a CIDR range'],
    ['ip:localhost', 4, 'expected an IP address or a CIDR range'],
    ['status:abc', 8, 'expected a status such as 401, >=500 or 400..499, found "abc"'],
    ['status:499..400', 8, 'expected a status such as 401, >=500 or 400..499'],
    ['status:1000', 8, 'expected a status such as 401'],
    ['status:=>500', 8, 'expected a status such as 401'],
    ['user:"a\u0000b"', 8, 'expected no NUL character (U+0000), which PostgreSQL text cannot hold'],
    ['id:not-a-uuid', 4, 'expected a UUID, found "not-a-uuid"'],
    [
      `${'('.repeat(MAX_DEPTH + 1)}user:a${')'.repeat(MAX_DEPTH + 1)}`,
      MAX_DEPTH + 1,
      'nest deeper than 16 levels',
    ],
    [`${'NOT '.repeat(MAX_DEPTH + 1)}user:a`, MAX_DEPTH * 4 + 1, 'nest deeper than 16 levels'],
    [
      Array.from({ length: MAX_TERMS + 1 }, () => 'user:a').join(' '),
      MAX_TERMS * 7 + 1,
      'more than 64 terms',
    ],
    [
      `user:${'a'.repeat(MAX_QUERY_LENGTH)}`,
      MAX_QUERY_LENGTH + 1,
      'a query is at most 2000 characters, this one has 2005',
    ],
  ])('%j: at %d', (query, position, problem) => {
    const error = thrown(() => compileQuery(query));
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_QUERY');
    expect(error.name).toBe('AuthtrailError');
    expect(error.position).toBe(position);
    expect(error.message.startsWith(`authtrail: invalid query at ${position}: `)).toBe(true);
    expect(error.message).toContain(problem);
  });

  test('reports the first problem in reading order', () => {
    // The lexer runs on demand: the stray ')' is reported, not the unknown field after it.
    expect(thrown(() => compileQuery('user:a) nope:x')).position).toBe(7);
    expect(thrown(() => compileQuery('nope:x user:a)')).position).toBe(1);
  });

  test('quotes at most 24 characters of the offending text, with control and bidi characters escaped', () => {
    const hostile = `\u001b[31m\r\nauthtrail: OK\u202e${'x'.repeat(100)}`;
    const error = thrown(() => compileQuery(`outcome:"${hostile.replace(/["\\]/g, '\\$&')}"`));
    expect(error.message).toContain('found "\\u001b[31m\\u000d\\u000aauthtrail: OK\\u202exxx…"');
    expect(error.message).not.toMatch(
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/,
    );
    expect(error.message).not.toContain('x'.repeat(25));
  });
});
