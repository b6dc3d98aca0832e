export declare const USERS: Record<
  'alice' | 'bob',
  { password: string; name: string; email: string; roles: string[] }
>;
export declare const RP_CLIENT: { id: string; secret: string };
export declare const SHORT_CLIENT: { id: string; secret: string };
export declare const API_AUDIENCE: string;
export declare const RP_COOKIE_SECRET: string;
export declare const OP_COOKIE_KEY: string;
export declare const AUDIT_FINGERPRINT_KEY: string;
export declare const CLI_CLIENT: { id: string; secret: string; callbackPath: string };
export declare const MACHINE_CLIENT: { id: string; secret: string };
