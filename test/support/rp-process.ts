// Starts one of the test servers of test/support (relying parties, providers: a child process, since
// jest cannot load the ESM-only oidc-provider and openid-client in process) and reads back what its
// auditors wrote. A server prints `{ ready: { issuer, control, rpUrl? } }` on stdout when it listens.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AuditEvent } from '@authtrail/core';

export interface RpProcess {
  /** The relying party's URL ('' for a server that runs none). */
  rpUrl: string;
  issuer: string;
  /** Raw bytes of the audit file, after flushing the RP's and the provider's auditors. */
  text(): Promise<string>;
  /** The events written so far, of the given observer roles (every role when none is given). */
  events(...roles: Array<'op' | 'rp' | 'rs'>): Promise<AuditEvent[]>;
  /** Secrets only the server saw (client secret, PKCE verifiers, tokens, session ids). */
  secrets(): Promise<string[]>;
  /** Another JSON answer of the server's control side (`serveControl`'s `extra`), e.g. `/tokens`. */
  answer<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

/** Starts `script` with `env` added to this process's environment (FRAMEWORK=...). */
export async function startRpProcess(
  script: string,
  env: Record<string, string> = {},
): Promise<RpProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'authtrail-rp-'));
  const child: ChildProcess = spawn(process.execPath, [join(__dirname, script)], {
    env: { ...process.env, ...env, AUDIT_FILE: join(dir, 'audit.jsonl') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = await new Promise<{ rpUrl?: string; issuer: string; control: string }>(
    (resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${script} did not start:\n${stderr}`)),
        20_000,
      );
      child.once('exit', (code) => reject(new Error(`${script} exited with ${code}:\n${stderr}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        // oidc-provider and express-openid-connect write notices of their own to stdout too.
        if (!line.startsWith('{')) return;
        const msg = JSON.parse(line) as {
          ready?: { rpUrl?: string; issuer: string; control: string };
        };
        if (msg.ready) {
          clearTimeout(timer);
          resolve(msg.ready);
        }
      });
    },
  );
  const text = async () => (await fetch(`${ready.control}/events`)).text();
  const answer = async <T>(path: string) =>
    (await (await fetch(`${ready.control}${path}`)).json()) as T;
  return {
    rpUrl: ready.rpUrl ?? '',
    issuer: ready.issuer,
    text,
    events: async (...roles) =>
      (await text())
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as AuditEvent)
        .filter((e) => roles.length === 0 || roles.includes(e.observer.role)),
    secrets: () => answer<string[]>('/secrets'),
    answer,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The secret canary: `secrets` holds what the server and the browsers saw (codes, states, cookies,
 * PKCE verifiers, tokens, client secrets); none of 8 or more characters may be in the audit bytes,
 * as sent or URL-encoded. Also checks the flows produced the kinds it stands for.
 */
export function expectNoSecrets(text: string, secrets: Iterable<string>): void {
  const kept = [...secrets].filter((s) => s.length >= 8);
  expect(kept.filter((s) => /^[A-Za-z0-9_-]{43}$/.test(s)).length).toBeGreaterThan(3);
  expect(kept.some((s) => s.split('.').length === 3)).toBe(true); // tokens (JWTs)
  expect(text.length).toBeGreaterThan(2000);
  for (const s of kept) {
    expect(text).not.toContain(s);
    expect(text).not.toContain(encodeURIComponent(s));
  }
}
