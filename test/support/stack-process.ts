import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AuditEvent } from '@authtrail/core';

export interface StackProcess {
  rpUrl: string;
  issuer: string;
  apiUrl: string;
  /** Raw bytes the file sink wrote so far (after flushing both auditors). */
  text(): Promise<string>;
  /** Every event so far. */
  events(): Promise<AuditEvent[]>;
  /** The index of the next event: pass it to `eventsSince`. */
  mark(): Promise<number>;
  /** Events after `mark`, optionally only those of one observer role (`op`, `rp`, `rs`). */
  eventsSince(mark: number, ...roles: Array<'op' | 'rp' | 'rs'>): Promise<AuditEvent[]>;
  /** Tokens of every RP session established so far, as express-openid-connect stored them. */
  sessions(): Promise<Array<{ access_token: string; id_token: string; refresh_token?: string }>>;
  /** Runs an openid-client action in the child (`authUrl`, `code`, `refresh`, `revoke`, ...). */
  client<T = Record<string, unknown>>(
    action: string,
    args?: Record<string, unknown>,
  ): Promise<{ ok: boolean; result: T; error?: string }>;
  stop(): Promise<void>;
}

/**
 * Starts the demo stack (oidc-provider + Express RP + bearer API, audited to a file) in a child
 * process and talks to it over HTTP on 127.0.0.1.
 */
export async function startStackProcess(env: Record<string, string> = {}): Promise<StackProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'authtrail-e2e-'));
  const child: ChildProcess = spawn(process.execPath, [join(__dirname, 'stack-server.mjs')], {
    env: { ...process.env, ...env, AUDIT_FILE: join(dir, 'audit.jsonl') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = await new Promise<{
    rpUrl: string;
    issuer: string;
    apiUrl: string;
    control: string;
  }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stack did not start:\n${stderr}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`stack exited with ${code}:\n${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as {
          ready?: { rpUrl: string; issuer: string; apiUrl: string; control: string };
        };
        if (msg.ready) {
          clearTimeout(timer);
          resolve(msg.ready);
        }
      } catch {
        // not ours
      }
    });
  });
  const text = async () => (await fetch(`${ready.control}/events`)).text();
  const events = async () =>
    (await text())
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditEvent);
  return {
    ...ready,
    text,
    events,
    mark: async () => (await events()).length,
    eventsSince: async (mark, ...roles) =>
      (await events())
        .slice(mark)
        .filter((e) => roles.length === 0 || roles.includes(e.observer.role)),
    sessions: async () =>
      (await (await fetch(`${ready.control}/sessions`)).json()) as Awaited<
        ReturnType<StackProcess['sessions']>
      >,
    client: async (action, args = {}) =>
      (await (
        await fetch(`${ready.control}/client/${action}`, {
          method: 'POST',
          body: JSON.stringify(args),
        })
      ).json()) as never,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
