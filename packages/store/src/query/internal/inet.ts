// Address and CIDR grammar for `ip:` values. Checked here so that a malformed value is a query
// error with a position, not a PostgreSQL `invalid input syntax for type inet` at run time. No
// `node:net` and no `URL`: the query compiler runs in a browser too.

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

function isIpv6(text: string): boolean {
  const halves = text.split('::');
  if (halves.length > 2) return false;
  let groups = 0;
  for (let h = 0; h < halves.length; h++) {
    const half = halves[h] as string;
    if (half === '') continue;
    const parts = half.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      // An embedded IPv4 address (::ffff:192.0.2.1) may only end the address; it is two groups.
      if (h === halves.length - 1 && i === parts.length - 1 && IPV4.test(part)) groups += 2;
      else if (HEXTET.test(part)) groups += 1;
      else return false;
    }
  }
  return halves.length === 2 ? groups <= 7 : groups === 8;
}

/** True when `text` is an IPv4 or IPv6 address, optionally with a `/prefix` that fits it. */
export function isInet(text: string): boolean {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const v4 = IPV4.test(address);
  if (!v4 && !isIpv6(address)) return false;
  if (slash === -1) return true;
  const prefix = text.slice(slash + 1);
  if (!/^(?:0|[1-9]\d{0,2})$/.test(prefix)) return false;
  return Number(prefix) <= (v4 ? 32 : 128);
}
