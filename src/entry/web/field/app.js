import { drop, get, keep, pending, put, remove, waiting } from './store.js';
import { $, api, el, position, show, when } from './ui.js';
import { resizedPhoto } from './photo.js';
import { forgetReaderWork, initReader, readerHome, syncReader, unsentReadings } from './reader.js';

// The field app: installable, offline first. It signs a reader or technician in with the same
// sessions as the console, keeps who they are and their work on the phone (IndexedDB), and says
// plainly whether it is online, how much waits to sync and when it last synced. A technician's
// moves on an order are recorded on the phone with their time (and GPS) as they happen, and sent
// in order when the gateway can be reached; nothing is dropped until the gateway has it, and a
// change refused as stale is shown next to the order as it is now, to be made again on it.
const FIELD_ROLES = ['reader', 'tech'];
const STATE_NAMES = {
  dispatched: 'dispatched',
  accepted: 'accepted',
  en_route: 'en route',
  on_site: 'on site',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
};
const MOVE_LABELS = {
  accepted: 'Accept',
  en_route: 'En route',
  on_site: 'On site',
  completed: 'Complete…',
  failed: 'Fail…',
};
const FIELD_LABELS = {
  outcome: 'Outcome',
  finalRead: 'Final read',
  newMeterSerial: 'New meter serial',
  newMeterRead: 'New meter first read',
  seals: 'Seals (comma between)',
  notes: 'Notes',
};
let openOrder = null;
let syncing = null;
let again = false;

if ('serviceWorker' in navigator) void navigator.serviceWorker.register('sw.js', { scope: './' });

async function paintStatus() {
  const online = navigator.onLine;
  $('net').textContent = online ? 'Online' : 'Offline';
  $('net').className = online ? 'net' : 'net offline';
  const count = (await waiting()) + (await unsentReadings());
  const last = await get('lastSync');
  $('sync').textContent =
    `${count === 0 ? 'Nothing waiting to sync' : `${count} change${count === 1 ? '' : 's'} waiting to sync`} · ` +
    `last synced ${last ? when(last) : 'never'}`;
}

/** Priority first (1 is the most urgent), then the earliest due date; undated last. */
function byPriorityAndDue(a, b) {
  return a.priority - b.priority || (a.dueDate ?? '9999').localeCompare(b.dueDate ?? '9999');
}

/** The orders as the phone knows them: the gateway's, with this phone's changes not yet sent applied. */
async function localOrders() {
  const orders = (await get('orders')) ?? null;
  if (!orders) return null;
  const changes = await pending();
  return orders.map((o) => {
    const mine = changes.filter((c) => c.orderNo === o.orderNo && !c.conflict);
    if (mine.length === 0) return o;
    const last = mine[mine.length - 1];
    return { ...o, state: last.state, version: last.version + 1, pending: mine.length };
  });
}

async function renderHome() {
  const me = await get('me');
  if (!me) return;
  const name = me.user.displayName ?? me.user.username;
  $('who').textContent = `${name} · ${me.user.role === 'tech' ? 'technician' : 'meter reader'}`;
  const work = $('work');
  work.replaceChildren();
  $('attention').replaceChildren();
  if (me.user.role !== 'tech') {
    await readerHome(work);
    return;
  }
  await renderAttention();
  const orders = await localOrders();
  work.append(el('h2', { textContent: orders ? `Your open work orders (${orders.length})` : 'Your open work orders' }));
  if (!orders || orders.length === 0) {
    work.append(
      el('p', {
        className: 'muted',
        textContent: orders ? 'No open orders.' : 'Not downloaded yet: sync while online.',
      }),
    );
    return;
  }
  const list = el('ul', { className: 'orders' });
  for (const o of orders) {
    const li = el('li', { className: [o.overdue ? 'overdue' : '', o.pending ? 'pending' : ''].join(' ').trim() });
    li.dataset.order = o.orderNo;
    li.append(el('span', { className: 'tag', textContent: o.type }));
    if (o.overdue) li.append(el('span', { className: 'tag overdue', textContent: 'overdue' }));
    li.append(`${o.orderNo} · ${STATE_NAMES[o.state] ?? o.state}${o.pending ? ' (not sent yet)' : ''}`);
    const facts = [
      o.meterId && `meter ${o.meterId}`,
      o.accountNo && `account ${o.accountNo}`,
      o.dueDate && `due ${o.dueDate}`,
    ];
    li.append(el('div', { className: 'muted', textContent: facts.filter(Boolean).join(' · ') }));
    li.addEventListener('click', () => void openDetail(o.orderNo));
    list.append(li);
  }
  work.append(list);
}

/** Changes the gateway refused: shown until the technician redoes or drops them, never dropped silently. */
async function renderAttention() {
  const box = $('attention');
  for (const c of (await pending()).filter((x) => x.conflict || x.rejected)) {
    const now = c.conflict?.current;
    const entered = `You entered: ${STATE_NAMES[c.state]} at ${new Date(c.at).toLocaleString()}${c.completion?.finalRead != null ? `, final read ${c.completion.finalRead}` : ''}.`;
    const div = el(
      'div',
      { className: 'attention' },
      el('h2', { textContent: `${c.orderNo}: ${c.conflict ? 'changed on the gateway' : 'not accepted'}` }),
      el('p', {
        textContent: c.conflict
          ? `The order is now ${STATE_NAMES[now.state] ?? now.state} (version ${now.version}${now.technician ? `, ${now.technician}` : ''}). ${entered}`
          : `${c.rejected}. ${entered}`,
      }),
    );
    div.dataset.change = c.id;
    if (c.conflict)
      div.append(
        el('button', {
          type: 'button',
          className: 'primary redo',
          textContent: 'Make my change on the new version',
          onclick: async () => {
            await keep({ ...c, version: now.version, conflict: null });
            await renderHome();
            await sync();
          },
        }),
      );
    div.append(
      el('button', {
        type: 'button',
        className: 'secondary discard',
        textContent: 'Drop my change',
        onclick: async () => {
          await drop(c.id);
          await renderHome();
          await paintStatus();
        },
      }),
    );
    box.append(div);
  }
}

async function openDetail(orderNo) {
  const order = (await localOrders())?.find((o) => o.orderNo === orderNo);
  if (!order) return;
  openOrder = order;
  const rules = await get('rules');
  $('order-title').textContent = `${order.type} · ${order.orderNo}`;
  const facts = [
    ['State', `${STATE_NAMES[order.state] ?? order.state}${order.pending ? ' (not sent yet)' : ''}`],
    ['Meter', order.meterId],
    ['Account', order.accountNo],
    ['Due', order.dueDate ? `${order.dueDate}${order.overdue ? ' (overdue)' : ''}` : null],
    ['Priority', String(order.priority)],
    ['Notes', order.notes],
  ].filter(([, v]) => v);
  $('order-facts').replaceChildren(
    ...facts.flatMap(([k, v]) => [el('dt', { textContent: k }), el('dd', { textContent: v })]),
  );
  const moves = $('order-moves');
  moves.replaceChildren();
  for (const to of rules?.moves?.[order.state] ?? [])
    moves.append(
      el('button', {
        type: 'button',
        className: 'move',
        textContent: MOVE_LABELS[to] ?? to,
        onclick: () => (to === 'completed' || to === 'failed' ? openForm(order, to, rules) : void record(order, to)),
      }),
    );
  $('completion').hidden = true;
  show('order-view');
}

/** The completion (or failure) form, with what this type requires from config, checked on the phone. */
function openForm(order, to, rules) {
  const required = to === 'failed' ? ['reason'] : (rules?.types?.[order.type]?.required ?? ['outcome']);
  const fields =
    to === 'failed' ? ['reason', 'notes'] : [...new Set([...required, 'notes'])].filter((f) => f in FIELD_LABELS);
  const box = $('completion-fields');
  box.replaceChildren();
  for (const f of fields) {
    const numeric = f === 'finalRead' || f === 'newMeterRead';
    const input =
      f === 'notes' || f === 'reason'
        ? el('textarea', { name: f })
        : el('input', { name: f, inputMode: numeric ? 'numeric' : 'text', ...(numeric ? { pattern: '[0-9]*' } : {}) });
    if (f === 'outcome') input.value = 'COMPLETED';
    box.append(
      el(
        'label',
        {},
        `${f === 'reason' ? 'Why it could not be done' : FIELD_LABELS[f]}${required.includes(f) ? '' : ' (optional)'}`,
        input,
      ),
    );
  }
  // Photos of the work (the seal, the meter left off, the new meter): resized on the phone, sent before the completion.
  if (to === 'completed')
    box.append(
      el(
        'label',
        {},
        `Photos${required.includes('photos') ? '' : ' (optional)'}`,
        el('input', { name: 'photos', type: 'file', accept: 'image/*', multiple: true, capture: 'environment' }),
      ),
    );
  $('completion').dataset.to = to;
  $('completion').dataset.required = required.join(',');
  $('completion-status').textContent = '';
  $('completion').hidden = false;
}

$('completion').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = $('completion');
  const to = form.dataset.to;
  const required = form.dataset.required.split(',');
  const entries = [...new FormData(form).entries()];
  const files = /** @type {File[]} */ (
    entries.filter(([k, v]) => k === 'photos' && v instanceof File && v.size > 0).map(([, v]) => v)
  );
  const values = Object.fromEntries(entries.filter(([k]) => k !== 'photos').map(([k, v]) => [k, String(v).trim()]));
  if (files.length) values.photos = String(files.length);
  const missing = required.filter((f) => !values[f]);
  if (missing.length) {
    $('completion-status').textContent =
      `Needed: ${missing.map((f) => (f === 'reason' ? 'why' : (FIELD_LABELS[f] ?? f)).toLowerCase()).join(', ')}`;
    return;
  }
  for (const f of ['finalRead', 'newMeterRead'])
    if (values[f] && !/^\d+$/.test(values[f])) {
      $('completion-status').textContent = `${FIELD_LABELS[f]}: whole units, digits only`;
      return;
    }
  const at = new Date().toISOString();
  /** @type {Record<string, any>} */
  const completion = {
    outcome: to === 'failed' ? 'failed' : values.outcome,
    completedAt: at,
    ...(values.finalRead ? { finalRead: Number(values.finalRead) } : {}),
    ...(values.newMeterRead ? { newMeterRead: Number(values.newMeterRead) } : {}),
    ...(values.newMeterSerial ? { newMeterSerial: values.newMeterSerial } : {}),
    ...(values.seals
      ? {
          seals: values.seals
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        }
      : {}),
    ...(values.notes ? { notes: values.notes } : {}),
    ...(values.reason ? { reason: values.reason } : {}),
  };
  let photos = [];
  try {
    photos = await Promise.all(files.map((f) => resizedPhoto(f)));
  } catch (err) {
    $('completion-status').textContent = `A photo could not be used: ${err.message}`;
    return;
  }
  // The completion names its photos by their hash, as the gateway keeps them.
  if (photos.length) completion.photos = await Promise.all(photos.map(sha256Hex));
  await record(openOrder, to, completion, at, photos);
});

/** @param {Blob} blob */
async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Records a move on the phone, with when (and where) it happened, then sends it when it can. */
async function record(order, to, completion = undefined, at = new Date().toISOString(), photos = []) {
  const gps = await position();
  const seq = Date.now() * 1000 + Math.floor(Math.random() * 1000);
  await keep({
    id: crypto.randomUUID(),
    seq,
    orderNo: order.orderNo,
    version: order.version,
    state: to,
    at,
    ...(gps ? { gps } : {}),
    ...(completion ? { completion: gps && !completion.gps ? { ...completion, gps } : completion } : {}),
    ...(photos.length ? { photos } : {}),
    conflict: null,
    rejected: null,
  });
  await paintStatus();
  await renderHome();
  show('home-view');
  void sync();
}

/** Sends waiting changes in the order they were made; an order's changes stop at its first refusal. */
async function sendPending() {
  const blocked = new Set();
  for (const c of await pending()) {
    if (c.conflict || c.rejected || blocked.has(c.orderNo)) {
      blocked.add(c.orderNo);
      continue;
    }
    const body = {
      version: c.version,
      state: c.state,
      at: c.at,
      updateId: c.id,
      ...(c.gps ? { gps: c.gps } : {}),
      ...(c.completion ? { completion: c.completion } : {}),
    };
    let change = c;
    try {
      // Its photos first (each kept once however often sent), so the completion's hashes name photos the gateway has.
      for (const photo of change.photos ?? [])
        await api(`/tech/orders/${encodeURIComponent(c.orderNo)}/photos`, { method: 'PUT', body: photo });
      // The gateway has them: a retry of the move (a lost answer, a conflict redone) does not send them again.
      if (change.photos?.length) await keep((change = { ...change, photos: [] }));
      await api(`/tech/orders/${encodeURIComponent(c.orderNo)}`, { method: 'POST', body });
      await drop(c.id);
    } catch (err) {
      if (err.status === 409 && err.body?.current)
        await keep({ ...change, conflict: { current: err.body.current, message: err.message } });
      else if (err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 429)
        await keep({ ...change, rejected: err.message });
      else throw err;
      blocked.add(c.orderNo);
    }
  }
}

/** Reaches the gateway when it can: who is signed in, their changes sent, their work fetched; offline, what the phone holds. */
async function sync() {
  // Asked again while a sync runs (a reading saved meanwhile): one more round once it ends.
  if (syncing) {
    again = true;
    return syncing;
  }
  syncing = (async () => {
    const me = await get('me');
    if (!navigator.onLine) {
      if (me) await renderHome();
      if (!me) show('offline-view');
      else if ($('order-view').hidden && $('read-view').hidden) show('home-view');
      return;
    }
    // Nobody signed in on the phone: a session cookie left from a sign-out offline is ended, not resumed.
    if (!me) {
      await endPendingSignOut();
      show('login-view');
      return;
    }
    try {
      const session = await api('/session');
      if (!FIELD_ROLES.includes(session.user.role)) throw Object.assign(new Error('not a field role'), { status: 403 });
      await put('me', session);
      if (session.user.role === 'reader') await syncReader();
      if (session.user.role === 'tech') {
        await put('rules', await api('/tech/rules'));
        await sendPending();
        await put('orders', (await api('/tech/orders?limit=500')).items.sort(byPriorityAndDue));
      }
      await put('lastSync', new Date().toISOString());
      await renderHome();
      if ($('order-view').hidden && $('read-view').hidden) show('home-view');
    } catch (err) {
      if (err.status === 401 || err.status === 403) {
        await remove('me');
        show('login-view');
      } else if (me) {
        // The gateway did not answer: work from what the phone holds.
        await renderHome();
        if ($('order-view').hidden && $('read-view').hidden) show('home-view');
      } else {
        show('offline-view');
      }
    }
  })().finally(async () => {
    syncing = null;
    await paintStatus();
    if (again) {
      again = false;
      void sync();
    }
  });
  return syncing;
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const status = $('login-status');
  status.textContent = 'Signing in…';
  try {
    const session = await api('/session', {
      method: 'POST',
      body: { username: $('username').value.trim(), password: $('password').value },
    });
    const refuse = async (why) => {
      // Signed out again at once (the CSRF token is needed for that).
      await put('me', session);
      await api('/session', { method: 'DELETE' }).catch(() => undefined);
      await remove('me');
      status.textContent = why;
    };
    if (!FIELD_ROLES.includes(session.user.role))
      return void (await refuse(
        `${session.user.username} is a ${session.user.role}: this app is for meter readers and technicians. CSRs use the console.`,
      ));
    // A phone passed to someone else: the work on it is the last person's. What they have not sent
    // stays until they sign in and send it; what they have sent is forgotten, so no one sees it.
    const owner = await get('owner');
    if (owner && owner !== session.user.username) {
      const unsent = (await waiting()) + (await unsentReadings());
      if (unsent > 0)
        return void (await refuse(
          `This phone holds ${unsent} change${unsent === 1 ? '' : 's'} of ${owner} not sent yet. ${owner} signs in ` +
            'once while online to send them; then anyone may sign in.',
        ));
      await forgetReaderWork();
      await remove('orders');
      await remove('rules');
    }
    await put('owner', session.user.username);
    // The new session's cookie replaced any left from a sign-out offline.
    await remove('pendingSignOut');
    status.textContent = '';
    $('password').value = '';
    await put('me', session);
    await sync();
  } catch (err) {
    status.textContent = err.message;
  }
});

$('logout').addEventListener('click', async () => {
  if (
    (await waiting()) + (await unsentReadings()) > 0 &&
    !confirm('Changes on this phone have not reached the gateway yet. Sign out anyway? They stay on the phone.')
  )
    return;
  const csrf = (await get('me'))?.csrfToken ?? '';
  // Signed out offline, the session cookie lives on: it is ended when the gateway is reached, never resumed.
  const ended = await api('/session', { method: 'DELETE' })
    .then(() => true)
    .catch(() => false);
  if (!ended) await put('pendingSignOut', csrf);
  await remove('me');
  await remove('orders');
  show('login-view');
});

/** Ends a session signed out of while offline (its CSRF token was kept for this). */
async function endPendingSignOut() {
  const csrf = await get('pendingSignOut');
  if (csrf === undefined) return;
  const res = await fetch('/api/session', {
    method: 'DELETE',
    credentials: 'same-origin',
    headers: { 'x-csrf-token': csrf },
  }).catch(() => null);
  if (res && (res.ok || res.status === 401)) await remove('pendingSignOut');
}
$('back').addEventListener('click', async () => {
  openOrder = null;
  await renderHome();
  show('home-view');
});
$('refresh').addEventListener('click', () => void sync());
initReader({
  onChange: async () => {
    await paintStatus();
    await renderHome();
    if (navigator.onLine) void sync();
  },
});
// Work waiting on the phone is sent without anyone pressing anything once the gateway answers again.
setInterval(() => {
  if (navigator.onLine) void sync();
}, 30_000);
addEventListener('online', () => void sync());
addEventListener('offline', () => void paintStatus());

await sync();
document.body.dataset.ready = 'true';
