const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * True when `value` is an IPv4 or IPv6 address. ECS `ip` fields and OCSF `ip_t` attributes take
 * nothing else (Elasticsearch rejects the whole document for one malformed `source.ip`), and the
 * values come from the network: `X-Forwarded-For` entries such as `unknown` or `1.2.3.4:443`, or a
 * proxy's idea of the client address. No `node:net`: formats run wherever the event model does.
 */
export function isIpAddress(value: string): boolean {
  if (IPV4.test(value)) return true;
  if (!value.includes(':') || /[^0-9a-fA-F:.]/.test(value)) return false;
  try {
    // The WHATWG URL parser is the IPv6 grammar every runtime has.
    return new URL(`http://[${value}]/`).hostname !== '';
  } catch {
    return false;
  }
}
