// The web-standard globals the schema uses, which Node.js and every browser have. The package
// compiles without Node's types and without the DOM library (tsconfig.json), so what is not named
// here does not compile: add a global only if both runtimes have it.

/** WHATWG URL, used as the IPv6 grammar (`formats/ip-address.ts`). */
declare class URL {
  constructor(url: string, base?: string);
  readonly hostname: string;
}
