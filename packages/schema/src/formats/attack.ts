// The MITRE ATT&CK technique each built-in detection type stands for, for the ECS `threat.*` fields
// and OCSF's `finding_info.attacks`. A type not listed (your own, `audit.silence.detected`: a
// pipeline that stopped is not by itself an attack) gets none rather than a guess.

/** An ATT&CK tactic, technique or sub-technique: its id and name. */
export interface AttackEntry {
  id: string;
  name: string;
}

/** What a detection type is evidence of, in ATT&CK's terms. */
export interface Attack {
  tactics: AttackEntry[];
  technique: AttackEntry;
  subtechnique?: AttackEntry;
}

const CREDENTIAL_ACCESS = { id: 'TA0006', name: 'Credential Access' };
const DEFENSE_EVASION = { id: 'TA0005', name: 'Defense Evasion' };
const LATERAL_MOVEMENT = { id: 'TA0008', name: 'Lateral Movement' };
const BRUTE_FORCE = { id: 'T1110', name: 'Brute Force' };
const ALTERNATE_MATERIAL = { id: 'T1550', name: 'Use Alternate Authentication Material' };
const FORGE_WEB_CREDENTIALS = { id: 'T1606', name: 'Forge Web Credentials' };

const brute = (subtechnique?: AttackEntry): Attack => ({
  tactics: [CREDENTIAL_ACCESS],
  technique: BRUTE_FORCE,
  subtechnique,
});
// A refresh token replayed after rotation, an access token from a second network: a stolen token
// in use (T1550.001), which ATT&CK files under two tactics.
const stolenToken: Attack = {
  tactics: [DEFENSE_EVASION, LATERAL_MOVEMENT],
  technique: ALTERNATE_MATERIAL,
  subtechnique: { id: 'T1550.001', name: 'Application Access Token' },
};
// Tokens the API refuses for their algorithm or signature: someone making their own (T1606).
const forged: Attack = { tactics: [CREDENTIAL_ACCESS], technique: FORGE_WEB_CREDENTIALS };

/** By `<category>.<action>` of a `*.detected` type. */
const BY_ACTION: Readonly<Record<string, Attack>> = {
  'authn.bruteforce': brute({ id: 'T1110.001', name: 'Password Guessing' }),
  'authn.spray': brute({ id: 'T1110.003', name: 'Password Spraying' }),
  'authn.credential_stuffing': brute({ id: 'T1110.004', name: 'Credential Stuffing' }),
  // The guess that worked: still the brute force, not one kind of it.
  'authn.bruteforce_success': brute(),
  'oauth.token_reuse': stolenToken,
  'oauth.token_replay': stolenToken,
  'api.disallowed_alg': forged,
  'api.invalid_signature': forged,
};

/** The ATT&CK entries of a detection of `<category>.<action>`, if it has any. */
export function attackOf(category: string, action: string): Attack | undefined {
  return BY_ACTION[`${category}.${action}`];
}

/** ATT&CK's page of a tactic or (sub-)technique: `T1110.001` -> `.../techniques/T1110/001/`. */
export function attackUrl(id: string): string {
  const kind = id.startsWith('TA') ? 'tactics' : 'techniques';
  return `https://attack.mitre.org/${kind}/${id.replace('.', '/')}/`;
}
