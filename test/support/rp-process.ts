// Starts one of the relying-party servers of test/support (a child process: jest cannot load the
// ESM-only oidc-provider and openid-client in process) and reads back what its auditor wrote.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AuditEvent } from '@authtrail/core';

export interface RpProcess {
  rpUrl: string;
  issuer: string;
  /** Raw bytes of the audit file, after flushing the RP's and the provider's auditors. */
  text(): Promise<string>;
  /** The events written so far, of the given observer roles (every role when none is given). */
  events(...roles: Array<'op' | 'rp' | 'rs'>): Promise<AuditEvent[]>;
  /** Secrets only the server saw (client secret, PKCE verifiers, tokens, session ids). */
  secrets(): Promise<string[]>;
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
  const ready = await new Promise<{ rpUrl: string; issuer: string; control: string }>(
    (resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${script} did not start:\n${stderr}`)),
        20_000,
      );
      child.once('exit', (code) => reject(new Error(`${script} exited with ${code}:\n${stderr}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const msg = JSON.parse(line) as {
          ready?: { rpUrl: string; issuer: string; control: string };
        };
        if (msg.ready) {
          clearTimeout(timer);
          resolve(msg.ready);
        }
      });
    },
  );
  const text = async () => (await fetch(`${ready.control}/events`)).text();
  return {
    rpUrl: ready.rpUrl,
    issuer: ready.issuer,
    text,
    events: async (...roles) =>
      (await text())
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as AuditEvent)
        .filter((e) => roles.length === 0 || roles.includes(e.observer.role)),
    secrets: async () => (await (await fetch(`${ready.control}/secrets`)).json()) as string[],
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
