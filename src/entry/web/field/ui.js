import { get } from './store.js';

// What every screen of the field app uses: elements, times, the gateway's API with the session's
// CSRF token, and where the phone is.

/** @type {(id: string) => any} */
export const $ = (id) => document.getElementById(id);

/** Shows one screen of the app (a section of <main>) and hides the others. @param {string} view */
export function show(view) {
  for (const section of document.querySelectorAll('main > section'))
    /** @type {HTMLElement} */ (section).hidden = section.id !== view;
}

/** @param {string} tag @param {Record<string, any>} [props] @param {...(Node | string)} children */
export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** @param {string} iso */
export function when(iso) {
  const d = new Date(iso);
  const minutes = Math.round((Date.now() - d.getTime()) / 60000);
  const at = d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
  return minutes < 1 ? `just now (${at})` : minutes < 120 ? `${minutes} min ago (${at})` : at;
}

/**
 * The gateway's API with the session cookie (and its CSRF token on changes). A JSON body is sent
 * as JSON; a Blob (a photo) as itself. A refusal throws with its status and the gateway's answer.
 * @param {string} path @param {{ method?: string, body?: any }} [init]
 */
export async function api(path, init = {}) {
  const csrf = (await get('me'))?.csrfToken;
  const blob = init.body instanceof Blob;
  const res = await fetch(`/api${path}`, {
    method: init.method ?? 'GET',
    body: init.body === undefined ? undefined : blob ? init.body : JSON.stringify(init.body),
    credentials: 'same-origin',
    headers: {
      accept: 'application/json',
      ...(init.body === undefined
        ? {}
        : { 'content-type': blob ? init.body.type || 'image/jpeg' : 'application/json' }),
      ...(csrf && init.method && init.method !== 'GET' ? { 'x-csrf-token': csrf } : {}),
    },
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Error(body?.error?.message ?? `the gateway answered ${res.status}`);
    Object.assign(err, { status: res.status, body });
    throw err;
  }
  return body;
}

/** A refusal the phone must not retry as it is (bad input, a conflict), as against the gateway being out of reach. */
export const refused = (err) => err?.status >= 400 && err.status < 500 && ![401, 408, 429].includes(err.status);

/** Where the phone is, if it may say (a few seconds at most: the work is recorded either way). */
export function position() {
  return new Promise((resolve) => {
    if (!('geolocation' in navigator)) return resolve(null);
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: Number(p.coords.latitude.toFixed(6)), lon: Number(p.coords.longitude.toFixed(6)) }),
      () => resolve(null),
      { timeout: 3000, maximumAge: 60000 },
    );
  });
}
