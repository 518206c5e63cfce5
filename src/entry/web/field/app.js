import { get, put, remove, waiting } from './store.js';

// The field app: installable, offline first. It signs a reader or technician in with the same
// sessions as the console, keeps who they are and their work on the phone (IndexedDB), and says
// plainly whether it is online, how much waits to sync and when it last reached the gateway.
/** @type {(id: string) => any} */
const $ = (id) => document.getElementById(id);
const FIELD_ROLES = ['reader', 'tech'];

if ('serviceWorker' in navigator) void navigator.serviceWorker.register('sw.js', { scope: './' });

function show(view) {
  for (const id of ['login-view', 'home-view', 'offline-view']) $(id).hidden = id !== view;
}

/** @param {string} iso */
function when(iso) {
  const d = new Date(iso);
  const minutes = Math.round((Date.now() - d.getTime()) / 60000);
  const at = d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
  return minutes < 1 ? `just now (${at})` : minutes < 120 ? `${minutes} min ago (${at})` : at;
}

async function paintStatus() {
  const online = navigator.onLine;
  $('net').textContent = online ? 'Online' : 'Offline';
  $('net').className = online ? 'net' : 'net offline';
  const count = await waiting();
  const last = await get('lastSync');
  $('sync').textContent =
    `${count === 0 ? 'Nothing waiting to sync' : `${count} change${count === 1 ? '' : 's'} waiting to sync`} · ` +
    `last synced ${last ? when(last) : 'never'}`;
}

/** @param {string} path @param {RequestInit} [init] */
async function api(path, init = {}) {
  const csrf = (await get('me'))?.csrfToken;
  const res = await fetch(`/api${path}`, {
    ...init,
    credentials: 'same-origin',
    headers: {
      accept: 'application/json',
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...(csrf && init.method && init.method !== 'GET' ? { 'x-csrf-token': csrf } : {}),
    },
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Error(body?.error?.message ?? `the gateway answered ${res.status}`);
    Object.assign(err, { status: res.status });
    throw err;
  }
  return body;
}

function renderHome(me, orders) {
  const name = me.user.displayName ?? me.user.username;
  $('who').textContent = `${name} · ${me.user.role === 'tech' ? 'technician' : 'meter reader'}`;
  const work = $('work');
  work.replaceChildren();
  if (me.user.role === 'tech') {
    const h = document.createElement('h2');
    h.textContent = orders ? `Your open work orders (${orders.length})` : 'Your open work orders';
    work.append(h);
    if (!orders || orders.length === 0) {
      const p = document.createElement('p');
      p.className = 'muted';
      p.textContent = orders ? 'No open orders.' : 'Not downloaded yet: sync while online.';
      work.append(p);
      return;
    }
    const list = document.createElement('ul');
    list.className = 'orders';
    for (const o of orders) {
      const li = document.createElement('li');
      li.className = o.overdue ? 'overdue' : '';
      li.dataset.order = o.orderNo;
      const type = Object.assign(document.createElement('span'), { className: 'tag', textContent: o.type });
      li.append(type);
      if (o.overdue)
        li.append(Object.assign(document.createElement('span'), { className: 'tag overdue', textContent: 'overdue' }));
      li.append(`${o.orderNo} · ${o.state}`);
      const detail = document.createElement('div');
      detail.className = 'muted';
      detail.textContent = [
        o.meterId && `meter ${o.meterId}`,
        o.accountNo && `account ${o.accountNo}`,
        o.dueDate && `due ${o.dueDate}`,
      ]
        .filter(Boolean)
        .join(' · ');
      li.append(detail);
      list.append(li);
    }
    work.append(list);
  } else {
    const p = document.createElement('p');
    p.className = 'muted';
    p.textContent = 'Reading routes in this app is not available yet: dock your hand-held, or use a field device.';
    work.append(p);
  }
}

/** Priority first (1 is the most urgent), then the earliest due date; undated last. */
function byPriorityAndDue(a, b) {
  return a.priority - b.priority || (a.dueDate ?? '9999').localeCompare(b.dueDate ?? '9999');
}

/** Reaches the gateway when it can: who is signed in, and their work; offline, what the phone holds. */
async function sync() {
  const me = await get('me');
  if (!navigator.onLine) {
    if (me) renderHome(me, await get('orders'));
    show(me ? 'home-view' : 'offline-view');
    return paintStatus();
  }
  try {
    const session = await api('/session');
    if (!FIELD_ROLES.includes(session.user.role)) throw Object.assign(new Error('not a field role'), { status: 403 });
    await put('me', session);
    let orders = null;
    if (session.user.role === 'tech') {
      orders = (await api('/tech/orders?limit=500')).items.sort(byPriorityAndDue);
      await put('orders', orders);
    }
    await put('lastSync', new Date().toISOString());
    renderHome(session, orders);
    show('home-view');
  } catch (err) {
    if (err.status === 401 || err.status === 403) {
      await remove('me');
      show('login-view');
    } else if (me) {
      // The gateway did not answer: work from what the phone holds.
      renderHome(me, await get('orders'));
      show('home-view');
    } else {
      show('offline-view');
    }
  }
  await paintStatus();
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const status = $('login-status');
  status.textContent = 'Signing in…';
  try {
    const session = await api('/session', {
      method: 'POST',
      body: JSON.stringify({ username: $('username').value.trim(), password: $('password').value }),
    });
    if (!FIELD_ROLES.includes(session.user.role)) {
      // Signed out again at once (the CSRF token is needed for that).
      await put('me', session);
      await api('/session', { method: 'DELETE' }).catch(() => undefined);
      await remove('me');
      status.textContent = `${session.user.username} is a ${session.user.role}: this app is for meter readers and technicians. CSRs use the console.`;
      return;
    }
    status.textContent = '';
    $('password').value = '';
    await sync();
  } catch (err) {
    status.textContent = err.message;
  }
});

$('logout').addEventListener('click', async () => {
  await api('/session', { method: 'DELETE' }).catch(() => undefined);
  await remove('me');
  await remove('orders');
  show('login-view');
});
$('refresh').addEventListener('click', () => void sync());
addEventListener('online', () => void sync());
addEventListener('offline', () => void paintStatus());

await sync();
document.body.dataset.ready = 'true';
