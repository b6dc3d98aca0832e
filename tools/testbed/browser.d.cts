export interface Page {
  url: string;
  status: number;
  headers: Headers;
  body: string;
  location?: string;
}
export interface Form {
  action: string;
  method: string;
  fields: Record<string, string>;
}
export declare function parseForms(html: string, baseUrl: string): Form[];
export declare class Browser {
  jar: Map<string, Map<string, string>>;
  secrets: Set<string>;
  visited: string[];
  /** The `Cookie` header this browser sends to `url`'s host, if it holds any cookie there. */
  cookieHeader(url: string): string | undefined;
  request(
    url: string,
    options?: { method?: string; form?: Record<string, string>; headers?: Record<string, string> },
  ): Promise<Page>;
  go(
    url: string,
    options?: { method?: string; form?: Record<string, string>; headers?: Record<string, string> },
  ): Promise<Page>;
  submit(page: Page, actionPattern: RegExp, values?: Record<string, string>): Promise<Page>;
}
export declare function login(
  browser: Browser,
  rpUrl: string,
  options?: {
    user?: string;
    password?: string;
    wrongPassword?: string;
    deny?: boolean;
    tamper?: (callbackUrl: string) => string;
    /** The RP path opened first (default `/login`). */
    start?: string;
  },
): Promise<{ page: Page; callbackUrl: string }>;
