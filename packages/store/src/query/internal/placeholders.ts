import { AuthtrailError } from '@authtrail/schema';
import type { PlaceholderOptions } from '../types.js';

// PostgreSQL's wire protocol counts parameters in 16 bits.
const MAX_PARAM = 65535;

/** Reads `firstParam`, throwing `ERR_AUTHTRAIL_INVALID_OPTIONS` for anything but an integer in range. */
export function firstParamOf(options: PlaceholderOptions | undefined): number {
  const first = options?.firstParam ?? 1;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PARAM) {
    throw new AuthtrailError(
      'ERR_AUTHTRAIL_INVALID_OPTIONS',
      'authtrail: invalid options: firstParam',
      [
        {
          path: 'firstParam',
          received: typeof first === 'number' ? String(first) : typeof first,
          fix: `give the number of the fragment's first placeholder, an integer from 1 to ${MAX_PARAM}`,
        },
      ],
    );
  }
  return first;
}
