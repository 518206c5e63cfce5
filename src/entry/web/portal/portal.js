// Shared by the portal's pages: calls to /api with the customer's session and CSRF token, and
// plain messages. Text is always text, never HTML.

import { $, el } from '../common/dom.js';

export { $, el };

let csrf = null;

export class PortalError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `the server answered ${status}`);
    this.status = status;
    this.field = body?.error?.field;
  }
}

/** @param {string} path @param {{ method?: string, body?: unknown, raw?: boolean }} [options] */
export async function api(path, { method = 'GET', body = undefined, raw = false } = {}) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') {
    if (csrf === null && path !== '/session' && path !== '/portal/register')
      csrf = (await session())?.csrfToken ?? null;
    if (csrf) headers['x-csrf-token'] = csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
  }
  const res = await fetch(`/api${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (raw && res.ok) return res;
  const type = res.headers.get('content-type') ?? '';
  const data = type.includes('application/json') ? await res.json() : null;
  if (!res.ok) throw new PortalError(res.status, data);
  return data;
}

/** The session, or null when nobody is logged in. */
export async function session() {
  const res = await fetch('/api/session', { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (!res.ok) return null;
  const s = await res.json();
  csrf = s.csrfToken;
  return s;
}

export async function logIn(username, password) {
  const r = await api('/session', { method: 'POST', body: { username, password } });
  csrf = r.csrfToken;
  return r;
}

export function say(text, kind = '') {
  const box = $('status');
  box.textContent = text;
  box.className = kind;
}

/** Sends the browser to another page; what is left of this page's script waits for ever, as the page goes. */
export function leaveFor(href) {
  location.href = href;
  return new Promise(() => {});
}

export function ready() {
  document.body.dataset.ready = 'true';
}
