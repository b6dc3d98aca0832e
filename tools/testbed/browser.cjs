'use strict';
// A minimal scripted browser over fetch: a cookie jar per host (like browsers, ports share
// cookies), manual redirects so every hop is seen, and HTML form submission. It also collects
// every secret value that crosses it (cookies, authorization codes, state values) so tests can
// prove none of them reached an audit sink.

/** Parses the forms of an HTML page: action, method and the named inputs with their values. */
const { USERS } = require('./accounts.cjs');

function parseForms(html, baseUrl) {
  const forms = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attr = (src, name) => new RegExp(`\\b${name}="([^"]*)"`, 'i').exec(src)?.[1];
    const fields = {};
    for (const input of m[2].matchAll(/<input\b([^>]*)>/gi)) {
      const name = attr(input[1], 'name');
      if (name) fields[name] = decodeEntities(attr(input[1], 'value') ?? '');
    }
    for (const button of m[2].matchAll(/<button\b([^>]*)>/gi)) {
      const name = attr(button[1], 'name');
      if (name) fields[name] = decodeEntities(attr(button[1], 'value') ?? '');
    }
    const action = decodeEntities(attr(m[1], 'action') ?? '');
    forms.push({
      action: new URL(action || baseUrl, baseUrl).href,
      method: (attr(m[1], 'method') ?? 'get').toUpperCase(),
      fields,
    });
  }
  return forms;
}

function decodeEntities(s) {
  return s
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

class Browser {
  /** host -> Map(cookie name -> value) */
  jar = new Map();
  /** Every secret-looking value this browser saw: cookie values, codes, states. */
  secrets = new Set();
  /** Every URL this browser requested, in order. */
  visited = [];

  cookieHeader(url) {
    const cookies = this.jar.get(new URL(url).hostname);
    if (!cookies || cookies.size === 0) return undefined;
    return [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  storeCookies(url, response) {
    const host = new URL(url).hostname;
    const cookies = this.jar.get(host) ?? new Map();
    this.jar.set(host, cookies);
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v] = a.trim().split('=');
        if (k.toLowerCase() === 'max-age') return Number(v) <= 0;
        if (k.toLowerCase() === 'expires') return Date.parse(v) < Date.now();
        return false;
      });
      if (expired || value === '') cookies.delete(name);
      else {
        cookies.set(name, value);
        this.collect(value);
      }
    }
  }

  collect(value) {
    if (!value) return;
    this.secrets.add(value);
    // Signed cookies and JSON payloads hide shorter secrets inside: keep the parts too.
    let decoded = value;
    try {
      decoded = decodeURIComponent(value);
    } catch {
      // keep as is
    }
    for (const part of decoded.split(/[.;,"{}:]+/)) if (part.length >= 16) this.secrets.add(part);
  }

  /** One request, no redirect following. */
  async request(url, { method = 'GET', form, headers = {} } = {}) {
    this.visited.push(url);
    const u = new URL(url);
    for (const name of ['code', 'state', 'id_token_hint', 'logout_token']) {
      const v = u.searchParams.get(name);
      if (v) this.secrets.add(v);
    }
    const cookie = this.cookieHeader(url);
    const response = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        ...(cookie ? { cookie } : {}),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        'user-agent': 'authtrail-demo-browser/1.0',
        ...headers,
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    this.storeCookies(url, response);
    const body = await response.text();
    const location = response.headers.get('location');
    return {
      url,
      status: response.status,
      headers: response.headers,
      body,
      location: location ? new URL(location, url).href : undefined,
    };
  }

  /** A request that follows redirects like a browser; returns the final response. */
  async go(url, options = {}) {
    let response = await this.request(url, options);
    for (
      let hops = 0;
      response.location && response.status >= 300 && response.status < 400;
      hops++
    ) {
      if (hops > 20) throw new Error(`too many redirects from ${url}`);
      response = await this.request(response.location);
    }
    return response;
  }

  /** Submits the first form of a page whose action matches `actionPattern`, with `values` filled in. */
  async submit(page, actionPattern, values = {}) {
    const form = parseForms(page.body, page.url).find((f) => actionPattern.test(f.action));
    if (!form) throw new Error(`no form matching ${actionPattern} on ${page.url}`);
    for (const [k, v] of Object.entries(values))
      if (/password|secret/i.test(k)) this.secrets.add(String(v));
    const fields = { ...form.fields, ...values };
    if (form.method === 'GET') {
      const target = new URL(form.action);
      for (const [k, v] of Object.entries(fields)) target.searchParams.set(k, v);
      return this.go(target.href);
    }
    return this.go(form.action, { method: 'POST', form: fields });
  }
}

/**
 * Drives a login through the demo provider: RP /login -> provider sign-in -> consent -> callback.
 * `password` may be wrong first (`wrongPassword`), and consent may be denied (`deny`). `start` is
 * the RP path the browser opens first (a protected page redirects to the provider as /login does).
 * Returns the final page and the callback URL the provider redirected to.
 */
async function login(
  browser,
  rpUrl,
  { user = 'alice', password, wrongPassword, deny = false, tamper, start = '/login' } = {},
) {
  let page = await browser.go(`${rpUrl}${start}`);
  if (wrongPassword) {
    page = await browser.submit(page, /\/login$/, { username: user, password: wrongPassword });
  }
  page = await browser.submit(page, /\/login$/, {
    username: user,
    password: password ?? USERS[user].password,
  });
  // The consent page: allow or deny. Stop before the RP callback to expose its URL.
  const form = parseForms(page.body, page.url).find((f) =>
    (deny ? /\/abort$/ : /\/confirm$/).test(f.action),
  );
  if (!form) throw new Error(`no consent form on ${page.url}: ${page.body.slice(0, 200)}`);
  let response = await browser.request(form.action, { method: 'POST', form: form.fields });
  while (response.location && !response.location.startsWith(`${rpUrl}/callback`)) {
    response = await browser.request(response.location);
  }
  const callbackUrl = response.location;
  const target = tamper ? tamper(callbackUrl) : callbackUrl;
  const final = await browser.go(target);
  return { page: final, callbackUrl };
}

module.exports = { Browser, login, parseForms };
