/**
 * The route a request took, mount prefix included (`/api` + `/orders/:id`), from the received URL
 * and the template that matched (undefined when none did). For frameworks that keep the prefix only
 * while a router runs (Express's `req.baseUrl`: a route whose handler failed is answered after its
 * router restored a parent's), the prefix is the URL's leading segments, those the template does
 * not account for (one received segment per segment of the template); only a template of no fixed
 * length (`*splat`, `{/:optional}`, `:id?`, a regular expression) takes `prefixNow`, the prefix the
 * framework reports at this point. Core redacts the prefix like any path: it holds values
 * (`/tenants/acme`).
 */
export function mountedRoute(
  url: string,
  template: unknown,
  prefixNow: string,
): string | undefined {
  if (typeof template !== 'string') return undefined;
  if (/[*?{(]/.test(template)) return prefixNow + template;
  const q = url.search(/[?#]/);
  let end = q === -1 ? url.length : q;
  if (url[end - 1] === '/') end--; // '/orders/1/' matches '/orders/:id'
  for (let i = template === '/' ? 1 : 0; i < template.length && end > 0; i++) {
    if (template[i] === '/') end = url.lastIndexOf('/', end - 1);
  }
  if (end <= 0) return template;
  return template === '/' ? url.slice(0, end) : url.slice(0, end) + template;
}
