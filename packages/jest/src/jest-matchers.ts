import type { AuditEvent } from '@authtrail/core';
// jest's `expect` package (a dependency of jest): named so that TypeScript loads the module the
// augmentation below extends; without the import it reports the module as not found (TS2664).
import type {} from 'expect';

type DeepPartial<T> =
  T extends ReadonlyArray<infer U>
    ? ReadonlyArray<DeepPartial<U>>
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

/** Fields to match, deep and partial (asymmetric matchers such as `expect.any(String)` allowed). */
export type AuditEventFields = DeepPartial<Omit<AuditEvent, 'type'>>;

/** A step of {@link AuthtrailMatchers.toHaveAuditSequence}: a type, or a type with fields. */
export type AuditSequenceStep =
  AuditEvent['type'] | ({ type: AuditEvent['type'] } & AuditEventFields);

/** The matchers `@authtrail/jest/setup` adds to `expect`. All are asynchronous: `await` them. */
export interface AuthtrailMatchers {
  /** An event of `type` whose fields match `fields` (deep, partial). Flushes the auditor first. */
  toHaveAuditEvent(type: AuditEvent['type'], fields?: AuditEventFields): Promise<void>;
  /** Events matching `steps` in this order; other events may come in between. */
  toHaveAuditSequence(steps: AuditSequenceStep[]): Promise<void>;
  /**
   * No JWT, bearer or basic credential, no token minted by the kit and none of `secrets` (strings
   * or patterns) in any event or any byte written.
   */
  toHaveNoSecrets(secrets?: Iterable<string | RegExp>): Promise<void>;
}

// Two declarations of the same matchers: `jest.Matchers` for the global `expect` typed by
// @types/jest, and `expect`'s `Matchers` for `import { expect } from '@jest/globals'` (its
// `@jest/expect` re-exports that interface), as jest's docs augment custom matchers.
declare module 'expect' {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars, @typescript-eslint/no-empty-object-type
  interface Matchers<R extends void | Promise<void>, T = unknown> extends AuthtrailMatchers {}
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    // eslint-disable-next-line @typescript-eslint/no-unused-vars, @typescript-eslint/no-empty-object-type
    interface Matchers<R, T = {}> extends AuthtrailMatchers {}
  }
}
