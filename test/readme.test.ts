// Every JavaScript block of the documentation (README.md and docs/*.md) is checked, so it cannot
// drift from the packages:
// - `<!-- example: NAME -->` blocks run as written: each is saved as a file and started with
//   `node`, with only the environment it reads set (PORT, secrets, the provider's URL), as a user
//   would start it; real requests go to it on 127.0.0.1 and the audit events it prints on stdout
//   (the default sink) are read back. `jest-kit` runs in test/jest-kit.test.ts.
// - `<!-- fragment -->` blocks (they need the reader's app around them) must parse, and every
//   name they import must be an export of the package, as ESM (or CommonJS for require()) sees it.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as ts from 'typescript';
import type { AuditEvent } from '@authtrail/core';
import { ROOT, readmeBlocks, type ReadmeBlock } from './support/readme';

jest.setTimeout(30_000);

const blocks = readmeBlocks();
const examples = new Map(blocks.filter((b) => b.example).map((b) => [b.example!, b.code]));

/** A directory whose node_modules is this repository's, where written snippets resolve packages. */
const dir = mkdtempSync(join(tmpdir(), 'authtrail-readme-'));
symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill();
  unlinkSync(join(dir, 'node_modules')); // the link only, never what it points to
  rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

interface Running {
  url: string;
  /** Waits until an event of `type` was printed (the auditor writes after the response). */
  event(type: string): Promise<AuditEvent>;
}

/**
 * Writes the example as `<name>.mjs` and runs it with `node` and `env`, on `port` (one chosen
 * before, when the app's own configuration names it) or a free one.
 */
async function run(name: string, env: Record<string, string>, port?: number): Promise<Running> {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, examples.get(name)!);
  port ??= await freePort();
  const child = spawn(process.execPath, [file], {
    cwd: dir,
    env: { PATH: process.env.PATH, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const events: AuditEvent[] = [];
  const waiting = new Set<() => void>();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    events.push(JSON.parse(line) as AuditEvent); // stdout carries audit events and nothing else
    for (const wake of waiting) wake();
  });
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`${name} exited:\n${stderr}`);
    try {
      await fetch(url, { method: 'HEAD' });
      break;
    } catch {
      if (attempt > 200) throw new Error(`${name} never listened on ${port}:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50)); // still starting
    }
  }
  return {
    url,
    event: (type) =>
      new Promise((resolve, reject) => {
        const check = () => {
          // The readiness probe (HEAD) may have given an event too: never count it.
          const found = events.find((e) => e.type === type && e.http?.method !== 'HEAD');
          if (!found) return;
          waiting.delete(check);
          resolve(found);
        };
        waiting.add(check);
        child.once('exit', () =>
          reject(new Error(`${name} exited before ${type}:\n${stderr}\n${JSON.stringify(events)}`)),
        );
        check();
      }),
  };
}

/** An HS256 JWT signed with `secret`, as koa-jwt and @fastify/jwt verify it. */
function hs256(secret: string, claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

test('every ```js block is marked, and every example is run by a test', () => {
  expect(blocks.length).toBeGreaterThan(10);
  expect([...examples.keys()].sort()).toEqual([
    'express',
    'fastify',
    'jest-kit',
    'koa',
    'sink-kit',
  ]);
});

test('the sink-kit example: its collector sink is retried after a 503 and refuses bad options by name, never by value', async () => {
  const file = join(dir, 'sink-kit.mjs');
  writeFileSync(file, examples.get('sink-kit')!);
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      [file],
      { cwd: dir, env: { PATH: process.env.PATH } },
      (error, out, err) => (error ? reject(new Error(err)) : resolve(out)),
    ),
  );
  // One event, written on the second request: the first (503) was retried by the auditor's queue.
  expect(stdout).toContain('{ requests: 2, delivered: 1, failed: 1 }');
  expect(stdout).toContain('ERR_AUTHTRAIL_INVALID_OPTIONS');
  expect(stdout).toContain('collectorSink(url, { apiKey }): received a string of 5 characters');
  expect(stdout).toContain('collectorSink(url, { gzip }): received a string of 3 characters');
  // The key given, right or wrong, is never shown.
  expect(stdout).not.toContain('ck_live_9Zq3Xw7Vb2Nm5Lk8');
  expect(stdout).not.toMatch(/short|"yes"/);
});

test('an unmarked block, a javascript fence and a repeated example name are errors at their line', () => {
  const marked = (name: string) => `<!-- example: ${name} -->\n\n\`\`\`js\nrun();\n\`\`\`\n`;
  expect(() => readmeBlocks([['docs/a.md', '# A\n\n```js\nrun();\n```\n']])).toThrow(
    'docs/a.md:3: a ```js block without a marker',
  );
  expect(() =>
    readmeBlocks([['docs/a.md', '<!-- fragment -->\n```javascript\nrun();\n```\n']]),
  ).toThrow('docs/a.md:2: fence the block as ```js (not javascript) so it is checked');
  expect(() =>
    readmeBlocks([
      ['README.md', marked('koa')],
      ['docs/a.md', '# A\n\n' + marked('koa')],
    ]),
  ).toThrow('docs/a.md:5: example koa is already the block at README.md:3');
  // A block inside a list item is read without the item's indentation.
  const [block] = readmeBlocks([
    ['docs/a.md', '- item\n\n  <!-- fragment -->\n\n  ```js\n  run();\n  ```\n'],
  ]);
  expect(block).toEqual({ example: undefined, at: 'docs/a.md:5', code: 'run();\n' });
});

describe.each([
  ['koa', '/'],
  ['fastify', '/orders'],
])('the %s example, run as written', (name, path) => {
  const secret = randomBytes(32).toString('base64url');
  let app: Running;
  beforeAll(async () => {
    app = await run(name, { JWT_SECRET: secret });
  });

  test('audits a request with a token the app accepted as api.access.success, verified', async () => {
    const token = hs256(secret, { sub: 'alice', exp: Math.floor(Date.now() / 1000) + 60 });
    const res = await fetch(app.url + path, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ for: 'alice' });
    const event = await app.event('api.access.success');
    expect(event).toMatchObject({
      observer: { service: 'orders-api', adapter: name },
      user: { id: 'alice' },
      oauth: { token: { verified: true } },
      http: { method: 'GET', status: 200 },
    });
    expect(JSON.stringify(event)).not.toContain(token);
  });

  test('audits a request without a token as api.authn.failure token_missing', async () => {
    const res = await fetch(app.url + path);
    expect(res.status).toBe(401);
    expect(await app.event('api.authn.failure')).toMatchObject({
      reason: 'token_missing',
      http: { status: 401 },
    });
  });
});

describe('the express example, run as written against a real oidc-provider', () => {
  test('a visit to /profile without a session redirects to the provider: authn.login_start.success', async () => {
    const port = await freePort();
    const rpUrl = `http://127.0.0.1:${port}`;
    const provider = spawn(process.execPath, [join(__dirname, 'support', 'readme-provider.mjs')], {
      env: { ...process.env, RP_URL: rpUrl },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.push(provider);
    const { issuer } = await new Promise<{ issuer: string }>((resolve) =>
      createInterface({ input: provider.stdout! }).once('line', (line) =>
        resolve(JSON.parse(line) as { issuer: string }),
      ),
    );
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { RP_CLIENT } = require('@authtrail/testbed/accounts.cjs') as {
      RP_CLIENT: { id: string; secret: string };
    };
    const app = await run(
      'express',
      {
        ISSUER_BASE_URL: issuer,
        BASE_URL: rpUrl,
        CLIENT_ID: RP_CLIENT.id,
        CLIENT_SECRET: RP_CLIENT.secret,
        SESSION_SECRET: randomBytes(32).toString('base64url'),
      },
      port,
    );
    const res = await fetch(`${app.url}/profile`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(new RegExp(`^${issuer}/auth\\?`));
    expect(await app.event('authn.login_start.success')).toMatchObject({
      observer: { role: 'rp', service: 'shop-web', adapter: 'express' },
      client: { id: RP_CLIENT.id },
      flow: { id: expect.any(String) },
    });
  });
});

describe('fragments', () => {
  const fragments = blocks.filter((b) => !b.example);

  test.each(fragments.map((b) => [b.at, b] as const))(
    'the block at %s parses',
    (_at, block: ReadmeBlock) => {
      const { diagnostics } = ts.transpileModule(block.code, {
        reportDiagnostics: true,
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      });
      expect(diagnostics!.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual(
        [],
      );
    },
  );

  test('every name a block imports or requires is an export of its package', async () => {
    const imports = blocks.flatMap((block) => importsOf(block));
    expect(imports.length).toBeGreaterThan(20);
    const missing = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--input-type=module', '-e', CHECK_IMPORTS, JSON.stringify(imports)],
        { cwd: dir, env: { PATH: process.env.PATH } },
        (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)),
      ),
    );
    expect(missing).toBe('');
  });
});

interface Import {
  at: string;
  from: string;
  names: string[];
  require: boolean;
}

/** `import x, { a, b as c } from 'p'` and `const { a } = require('p')` of a block. */
function importsOf(block: ReadmeBlock): Import[] {
  const found: Import[] = [];
  const { at } = block;
  for (const m of block.code.matchAll(
    /^import (?:(\w+)(?:, )?)?(?:\{([^}]*)\})? from '([^']+)';/gm,
  )) {
    const names = (m[2] ?? '')
      .split(',')
      .map(
        (n) =>
          n
            .trim()
            .replace(/^type /, '')
            .split(' as ')[0]!,
      )
      .filter(Boolean);
    if (m[1]) names.push('default');
    found.push({ at, from: m[3]!, names, require: false });
  }
  for (const m of block.code.matchAll(/const (?:\w+|\{([^}]*)\}) = require\('([^']+)'\);/g)) {
    const names = (m[1] ?? '')
      .split(',')
      .map((n) => n.trim().split(':')[0]!.trim())
      .filter(Boolean);
    found.push({ at, from: m[2]!, names, require: true });
  }
  return found;
}

// Run in a child from the snippets' directory, as ESM: what an app importing these packages sees.
const CHECK_IMPORTS = `
import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/');
const missing = [];
for (const { at, from, names, require: cjs } of JSON.parse(process.argv[1])) {
  let mod;
  try {
    mod = cjs ? require(from) : await import(from);
  } catch (error) {
    missing.push(at + ': ' + from + ' does not load: ' + error.message.split('\\n')[0]);
    continue;
  }
  for (const name of names)
    if (!(name in mod)) missing.push(at + ': ' + from + ' has no export ' + name);
}
process.stdout.write(missing.join('\\n'));
`;
