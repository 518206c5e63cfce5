// Shared by every console page: the header and navigation, calls to /api with the session
// cookie and CSRF token, formatting in the utility's time zone, and plain error messages.

import { $, el } from '../common/dom.js';

export { $, el };

const PAGES = [
  ['account.html', 'Accounts'],
  ['docks.html', 'Docks'],
  ['routes.html', 'Routes'],
  ['exceptions.html', 'Exceptions'],
  ['work-orders.html', 'Work orders'],
  ['usage.html', 'Usage'],
  ['prebill.html', 'Pre-bill review'],
  ['jobs.html', 'Jobs'],
  ['reports.html', 'Reports'],
];

let session = null;

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `the gateway answered ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    this.field = body?.error?.field;
    this.body = body;
  }
}

function toLogin() {
  const here = location.pathname.split('/').pop() + location.search;
  location.href = `login.html?next=${encodeURIComponent(here)}`;
}

/**
 * Calls the API. Changes carry the session's CSRF token; an ended session goes back to the login page.
 * @param {string} path
 * @param {{ method?: string, body?: unknown }} [options]
 */
export async function api(path, { method = 'GET', body = undefined } = {}) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') {
    headers['x-csrf-token'] = (await currentSession()).csrfToken;
    if (body !== undefined) headers['content-type'] = 'application/json';
  }
  const res = await fetch(`/api${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) {
    toLogin();
    throw new ApiError(401, { error: { message: 'your session has ended; log in again' } });
  }
  const type = res.headers.get('content-type') ?? '';
  const data = type.includes('application/json') ? await res.json() : await res.text();
  if (!res.ok) throw new ApiError(res.status, typeof data === 'object' ? data : null);
  return data;
}

export async function currentSession() {
  if (!session) {
    const res = await fetch('/api/session', { credentials: 'same-origin', headers: { accept: 'application/json' } });
    if (res.status === 401) {
      toLogin();
      throw new ApiError(401, null);
    }
    session = await res.json();
  }
  return session;
}

/** The page header: product, navigation with the current page marked, who is logged in, log out. */
export async function shell(current) {
  const me = await currentSession();
  const nav = el(
    'nav',
    { 'aria-label': 'console' },
    PAGES.map(([href, label]) => el('a', { href, 'aria-current': href === current ? 'page' : null }, label)),
  );
  const logout = el(
    'button',
    {
      type: 'button',
      class: 'link',
      onclick: async () => {
        await api('/session', { method: 'DELETE' });
        location.href = 'login.html';
      },
    },
    'Log out',
  );
  const header = el(
    'header',
    { class: 'top' },
    el('a', { class: 'brand', href: 'routes.html' }, 'fieldgate'),
    nav,
    el('span', { class: 'who' }, `${me.user.displayName ?? me.user.username} · ${me.user.role}`),
    logout,
  );
  document.body.prepend(header);
  return me;
}

/** A status line for a page: say what happened, plainly; errors in red. */
export function say(message, kind = 'info') {
  const box = $('status');
  if (!box) return;
  box.textContent = message;
  box.className = kind;
}

export function sayError(err) {
  say(err instanceof ApiError ? err.message : `something went wrong: ${err.message}`, 'error');
}

export const zone = () => session?.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;

/** An ISO instant as the utility's local date and time. */
export function when(iso) {
  if (!iso) return '';
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: zone(),
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  })
    .format(new Date(iso))
    .replace(',', '');
}

export function ago(iso, now = Date.now()) {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

export const num = (n, digits = 0) =>
  n === null || n === undefined
    ? ''
    : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const money = (n) => (n === null || n === undefined ? '' : `$${num(n, 2)}`);

/** Asks for a short text (a reason, a value) in a small dialog; resolves null when cancelled. */
export function ask(title, { label = 'Reason', value = '', type = 'text', required = true } = {}) {
  return new Promise((resolve) => {
    const input = el('input', { type, value, required, 'aria-label': label, autocomplete: 'off' });
    const dialog = el(
      'dialog',
      { class: 'ask' },
      el(
        'form',
        { method: 'dialog' },
        el('h3', {}, title),
        el('label', {}, label, input),
        el(
          'menu',
          {},
          el('button', { value: 'cancel', type: 'button', onclick: () => dialog.close('cancel') }, 'Cancel'),
          el('button', { value: 'ok', class: 'primary' }, 'OK'),
        ),
      ),
    );
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'ok' ? input.value.trim() : null);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

/** Fills a <tbody> from rows, or says there is nothing. */
/**
 * Photos from the field (a reader's register, a technician's order) as a heading and thumbnails
 * that open the full photo; nothing when there are none.
 * @param {any[]} photos @param {{ heading: string, alt: (p: any) => string }} how
 */
export function photoGallery(photos, { heading, alt }) {
  if (photos.length === 0) return [];
  return [
    el(heading, {}, `Photos (${photos.length})`),
    el(
      'div',
      { class: 'photos' },
      ...photos.map((p) =>
        el(
          'figure',
          {},
          el(
            'a',
            { href: `/api/attachments/${p.id}`, target: '_blank', rel: 'noopener' },
            el('img', { src: `/api/attachments/${p.id}`, alt: alt(p), loading: 'lazy' }),
          ),
          el(
            'figcaption',
            { class: 'muted' },
            `${p.uploaded_by} · ${when(p.created_at)} · ${Math.round(p.bytes / 1024)} KB`,
          ),
        ),
      ),
    ),
  ];
}

export function fillTable(tbody, rows, render, empty = 'Nothing to show.') {
  tbody.replaceChildren(
    ...(rows.length
      ? rows.map(render)
      : [
          el(
            'tr',
            {},
            el('td', { colspan: tbody.closest('table').querySelectorAll('thead th').length, class: 'empty' }, empty),
          ),
        ]),
  );
}

/** The account page's address for an account. */
export const accountHref = (accountNo) => `account.html?account=${encodeURIComponent(accountNo)}`;

/** A link to the account page (every page that shows an account or a meter uses it). */
export function accountLink(accountNo, text = accountNo) {
  return el('a', { href: accountHref(accountNo), class: 'account-link' }, text);
}

/** A link to the account page by meter (it finds the meter's account). */
export function meterLink(meterId, text = meterId) {
  return el('a', { href: `account.html?q=${encodeURIComponent(meterId)}`, class: 'account-link' }, text);
}

/** Marks the page ready (its data loaded and its handlers attached): tests and the curious can tell. */
export function ready() {
  document.body.dataset.ready = 'true';
}
