// base64url (RFC 4648 §5, no padding) of ASCII text, by hand: `Buffer` is Node's and `btoa` is not
// in every typing this package compiles under. Cursors are short (under 100 characters), so the
// cost is nothing.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Encodes `text`, whose characters must all be ASCII (the caller built it). */
export function encodeAscii(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i += 3) {
    const a = text.charCodeAt(i);
    const b = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    const c = i + 2 < text.length ? text.charCodeAt(i + 2) : 0;
    const n = (a << 16) | (b << 8) | c;
    out += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]!;
    if (i + 1 < text.length) out += ALPHABET[(n >> 6) & 63]!;
    if (i + 2 < text.length) out += ALPHABET[n & 63]!;
  }
  return out;
}

/** Decodes base64url to ASCII text; `undefined` for any character, length or byte that is not. */
export function decodeAscii(encoded: string): string | undefined {
  if (encoded.length % 4 === 1) return undefined;
  let out = '';
  let bits = 0;
  let acc = 0;
  for (let i = 0; i < encoded.length; i++) {
    const v = ALPHABET.indexOf(encoded[i] as string);
    if (v === -1) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      const byte = (acc >> bits) & 0xff;
      if (byte > 0x7e || byte < 0x20) return undefined;
      out += String.fromCharCode(byte);
    }
  }
  // Leftover bits must be zero, so each cursor has exactly one spelling.
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}
