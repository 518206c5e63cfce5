import { allReadings, forgetReadings, get, keepReadings, put, readingsOf, remove } from './store.js';
import { $, api, el, position, refused, show, when } from './ui.js';
import { resizedPhoto } from './photo.js';

// Meter reading on the phone. A route a CSR assigned is downloaded whole and kept in IndexedDB;
// the reader walks it meter by meter, offline or not. Each reading is kept on the phone the
// moment it is made (with its time, place, note and photo) and sent in batches: a batch keeps
// its id and its readings until the gateway answers, so a batch sent again after a lost answer
// is the same batch, stored once. Nothing is forgotten until the gateway has stored it.

/** Readings in one batch: the gateway's fieldApp.maxBatchReadings or fewer. */
const BATCH = 200;
const METER_TYPES = { W: 'water', E: 'electric', G: 'gas' };

/** What the reading screen shows: the route, where in it the reader is, and a read awaiting its re-key. */
const at = { code: null, route: null, index: 0, keyed: '', confirm: null, photo: null };
/** Called after anything changes that the status line or a sync should know of. */
let changed = async () => {};

/** @param {{ onChange: () => Promise<void> }} hooks */
export function initReader(hooks) {
  changed = hooks.onChange;
}

const keyOf = (code, rec) => `${code}|${rec.sequence}`;
const myRoutes = async () => (await get('myRoutes')) ?? [];

/** Forgets every route and reading on the phone (all sent: the caller checks), for the next person to sign in. */
export async function forgetReaderWork() {
  for (const code of await myRoutes()) {
    await forgetReadings(code);
    await remove(`route:${code}`);
    await remove(`batch:${code}`);
  }
  await remove('myRoutes');
  await remove('readerRoutes');
}

/** Readings on the phone the gateway has not stored yet. */
export async function unsentReadings() {
  return (await allReadings()).filter((r) => !r.sent).length;
}

/** Read, skipped and left of a route, from what the phone holds. */
function progressOf(route, readings) {
  const read = readings.filter((r) => r.reading !== null).length;
  const skipped = readings.filter((r) => r.skipCode).length;
  return {
    read,
    skipped,
    left: route.records.length - readings.length,
    unsent: readings.filter((r) => !r.sent).length,
  };
}

/** The reader's home: routes assigned to them to download, and routes on this phone to read. */
export async function readerHome(box) {
  const list = (await get('readerRoutes')) ?? { assigned: [], held: [] };
  const codes = await myRoutes();
  box.append(el('h2', { textContent: 'Your routes' }));
  for (const code of codes) {
    const route = await get(`route:${code}`);
    const p = progressOf(route, await readingsOf(code));
    const li = el('li', { className: route.refused ? 'overdue' : '' });
    li.dataset.route = code;
    li.append(el('span', { className: 'tag', textContent: code }), `cycle ${route.cycle}`);
    li.append(
      el('div', {
        className: 'progress',
        textContent: `${p.read} read · ${p.skipped} skipped · ${p.left} left${p.unsent ? ` · ${p.unsent} not sent yet` : ''}`,
      }),
    );
    if (route.refused)
      li.append(el('p', { className: 'attention-text', textContent: `Not accepted: ${route.refused}` }));
    if (route.finished) li.append(el('p', { className: 'done', textContent: 'Finished: every reading is stored.' }));
    const actions = el('div');
    if (!route.finished)
      actions.append(
        el('button', {
          type: 'button',
          className: 'primary open-route',
          textContent: p.read + p.skipped ? 'Continue reading' : 'Start reading',
          onclick: () => void openRoute(code),
        }),
      );
    if (!route.finished && !route.finishRequested && p.left > 0 && p.read + p.skipped > 0)
      actions.append(
        el('button', {
          type: 'button',
          className: 'secondary finish',
          textContent: `Finish with ${p.left} left`,
          onclick: async () => {
            if (!confirm(`Finish ${code} with ${p.left} meter(s) not read? The office sees them as not read.`)) return;
            await put(`route:${code}`, { ...route, finishRequested: true });
            await changed();
          },
        }),
      );
    if (route.finished)
      actions.append(
        el('button', {
          type: 'button',
          className: 'secondary forget',
          textContent: 'Remove from this phone',
          onclick: async () => {
            await forgetReadings(code);
            await remove(`route:${code}`);
            await put(
              'myRoutes',
              (await myRoutes()).filter((c) => c !== code),
            );
            await changed();
          },
        }),
      );
    li.append(actions);
    box.append(el('ul', { className: 'orders' }, li));
  }
  const toFetch = list.assigned.filter((a) => !codes.includes(a.route));
  for (const a of toFetch) {
    const li = el('li');
    li.dataset.assigned = a.route;
    li.append(el('span', { className: 'tag', textContent: a.route }), `assigned ${when(a.assignedAt)}`);
    li.append(
      el('button', {
        type: 'button',
        className: 'primary download',
        textContent: `Download ${a.route}`,
        onclick: () => void download(a.route, li),
      }),
    );
    box.append(el('ul', { className: 'orders' }, li));
  }
  if (codes.length === 0 && toFetch.length === 0)
    box.append(
      el('p', {
        className: 'muted',
        textContent: (await get('readerRoutes'))
          ? 'No routes assigned to you. The office assigns them from the console.'
          : 'Not synced yet: sync while online.',
      }),
    );
}

/** Downloads a route for offline use and tells the gateway the phone holds it. */
async function download(code, li) {
  const status = el('p', { role: 'status', textContent: `Downloading ${code}…` });
  li.append(status);
  try {
    const route = await api(`/reader/routes/${encodeURIComponent(code)}`);
    await put(`route:${code}`, { ...route, confirmed: false, downloadedAt: new Date().toISOString() });
    await put('myRoutes', [...new Set([...(await myRoutes()), code])]);
    await confirmHeld(await get(`route:${code}`));
  } catch (err) {
    status.textContent = `Could not download ${code}: ${err.message}`;
    return;
  }
  await changed();
}

async function confirmHeld(route) {
  if (route.confirmed) return;
  await api(`/reader/routes/${encodeURIComponent(route.route)}/confirm`, {
    method: 'POST',
    body: { sha256: route.sha256 },
  });
  await put(`route:${route.route}`, { ...route, confirmed: true });
}

// ---- The reading screen ----

/** Units used from the previous read to `value`, as the gateway counts them (a register wraps at 10^dials). */
function units(prev, value, dials) {
  if (value >= prev) return value - prev;
  const forward = value + 10 ** dials - prev;
  const backward = prev - value;
  return forward < backward ? forward : -backward;
}

/** The route's high/low check, the gateway's own: 'high', 'low' (or backwards), or null. */
function limitCheck(rec, value) {
  const [prev, dials] = [Number(rec.prev_read), Number(rec.dials)];
  const used = units(prev, value, dials);
  if (used < 0 || used < units(prev, Number(rec.low_limit), dials)) return { kind: 'low', used };
  if (used > units(prev, Number(rec.high_limit), dials)) return { kind: 'high', used };
  return null;
}

async function openRoute(code, index = null) {
  at.code = code;
  at.route = await get(`route:${code}`);
  const readings = await readingsOf(code);
  const done = new Set(readings.map((r) => r.sequence));
  const firstLeft = at.route.records.findIndex((r) => !done.has(r.sequence));
  at.index = index ?? (firstLeft === -1 ? 0 : firstLeft);
  $('skip-code').replaceChildren(
    el('option', { value: '', textContent: 'Why not read?' }),
    ...Object.entries(at.route.codes.skip).map(([c, text]) =>
      el('option', { value: c, textContent: `${c} · ${text}` }),
    ),
  );
  $('trouble').replaceChildren(
    el('option', { value: '', textContent: 'None' }),
    ...Object.entries(at.route.codes.trouble).map(([c, text]) =>
      el('option', { value: c, textContent: `${c} · ${text}` }),
    ),
  );
  $('search').value = '';
  $('search-results').replaceChildren();
  await paintMeter();
  show('read-view');
}

async function paintMeter() {
  const route = at.route;
  const rec = route.records[at.index];
  const readings = await readingsOf(at.code);
  const mine = readings.find((r) => r.sequence === rec.sequence);
  const p = progressOf(route, readings);
  $('read-progress').textContent =
    `${route.route} · ${at.index + 1} of ${route.records.length} · ${p.read} read · ${p.skipped} skipped · ${p.left} left`;
  const facts = [
    ['Account', rec.account],
    ['Address', rec.address],
    ['Customer', rec.customer],
    [
      'Meter',
      `${rec.meter_serial || rec.meter_id}${Number(rec.register) > 1 ? ` · register ${rec.register}` : ''} · ${METER_TYPES[rec.meter_type] ?? rec.meter_type}`,
    ],
    ['Location', rec.location],
    ['Previous read', `${rec.prev_read} (${rec.dials} dials)`],
  ].filter(([, v]) => v !== null && v !== '');
  $('meter-card').replaceChildren(
    ...facts.flatMap(([k, v]) => [el('dt', { textContent: k }), el('dd', { textContent: String(v) })]),
  );
  $('meter-card').dataset.meter = rec.meter_id;
  at.keyed = '';
  at.confirm = null;
  at.photo = null;
  $('note').value = mine?.note ?? '';
  $('trouble').value = mine?.troubleCode ?? '';
  $('skip-code').value = '';
  $('skip-box').hidden = true;
  $('photo').value = '';
  $('photo-status').textContent = mine?.photo
    ? mine.photoRefused
      ? `The gateway did not take the photo: ${mine.photoRefused}`
      : `Photo kept${mine.photoSent ? ' and sent' : ''}.`
    : '';
  const locked = Boolean(mine && (mine.sent || mine.batchId));
  for (const b of document.querySelectorAll('#keypad button, #skip, #trouble, #note'))
    /** @type {HTMLButtonElement} */ (b).disabled = locked;
  $('read-check').textContent = '';
  $('entered').textContent = mine
    ? mine.reading !== null
      ? `Read ${mine.reading}${mine.readCode ? ` (${mine.readCode})` : ''}${mine.troubleCode ? `, trouble ${mine.troubleCode}` : ''} at ${new Date(mine.readAt).toLocaleTimeString()}${mine.sent ? ' · stored' : mine.batchId ? ' · sending' : ' · not sent yet'}`
      : `Skipped: ${mine.skipCode}${mine.sent ? ' · stored' : ''}`
    : 'Not read yet';
  paintKeyed();
}

function paintKeyed() {
  $('keyed').textContent = at.keyed || '—';
}

function key(k) {
  const rec = at.route.records[at.index];
  if (k === 'del') at.keyed = at.keyed.slice(0, -1);
  else if (k === 'ok') return void saveKeyed();
  else if (at.keyed.length < Number(rec.dials)) at.keyed += k;
  paintKeyed();
}

/** The keyed read: out of the route's limits it must be keyed again; the same value again confirms it (HC/LC). */
async function saveKeyed() {
  const rec = at.route.records[at.index];
  if (!/^\d+$/.test(at.keyed)) return void ($('read-check').textContent = 'Key the register first.');
  const value = Number(at.keyed);
  const check = limitCheck(rec, value);
  const first = at.confirm;
  if (check && !(first && first.value === value)) {
    at.confirm = { value, kind: check.kind };
    at.keyed = '';
    paintKeyed();
    $('read-check').textContent =
      `${check.kind === 'high' ? 'High' : 'Low'} read: ${value} is ${check.used} units since the last read. ` +
      'Check the register and key it again to confirm.';
    return;
  }
  const readCode = check ? (check.kind === 'high' ? 'HC' : 'LC') : first ? 'RK' : null;
  await saveReading(rec, { reading: value, readCode, rekeyed: Boolean(first), skipCode: null });
}

async function saveReading(rec, what) {
  const gps = await position();
  const existing = (await readingsOf(at.code)).find((r) => r.sequence === rec.sequence);
  const note = $('note').value.trim().slice(0, 40);
  await keepReadings([
    {
      key: keyOf(at.code, rec),
      route: at.code,
      cycle: at.route.cycle,
      sequence: Number(rec.sequence),
      account: String(rec.account),
      meterId: String(rec.meter_id),
      register: Number(rec.register),
      readAt: new Date().toISOString(),
      troubleCode: what.skipCode ? null : $('trouble').value || null,
      note: note || null,
      lat: gps?.lat ?? null,
      lon: gps?.lon ?? null,
      photo: at.photo ?? existing?.photo ?? null,
      photoSent: at.photo ? false : (existing?.photoSent ?? false),
      batchId: null,
      sent: false,
      ...what,
    },
  ]);
  const readings = await readingsOf(at.code);
  const done = new Set(readings.map((r) => r.sequence));
  const next = at.route.records.findIndex((r, i) => i > at.index && !done.has(r.sequence));
  const anyLeft = at.route.records.findIndex((r) => !done.has(r.sequence));
  if (next !== -1) at.index = next;
  else if (anyLeft !== -1) at.index = anyLeft;
  await paintMeter();
  if (anyLeft === -1)
    $('read-check').textContent = 'Every meter on the route is done: it is sent when the phone is online.';
  void changed();
}

async function move(step) {
  at.index = Math.min(at.route.records.length - 1, Math.max(0, at.index + step));
  await paintMeter();
}

function search(text) {
  const q = text.trim().toLowerCase();
  const box = $('search-results');
  if (!q) return void box.replaceChildren();
  const hits = at.route.records
    .map((r, i) => ({ r, i }))
    .filter(({ r }) =>
      [r.meter_id, r.meter_serial, r.address, r.account].some((v) =>
        String(v ?? '')
          .toLowerCase()
          .includes(q),
      ),
    )
    .slice(0, 20);
  box.replaceChildren(
    ...(hits.length
      ? hits.map(({ r, i }) =>
          el('li', {
            textContent: `${r.sequence}. ${r.address} · meter ${r.meter_serial || r.meter_id}`,
            onclick: async () => {
              at.index = i;
              $('search').value = '';
              box.replaceChildren();
              await paintMeter();
            },
          }),
        )
      : [el('li', { className: 'muted', textContent: 'No meter or address matches.' })]),
  );
}

for (const b of document.querySelectorAll('#keypad button'))
  b.addEventListener('click', () => key(/** @type {HTMLElement} */ (b).dataset.key));
addEventListener('keydown', (e) => {
  if (
    $('read-view').hidden ||
    document.activeElement?.tagName === 'INPUT' ||
    document.activeElement?.tagName === 'SELECT'
  )
    return;
  if (/^\d$/.test(e.key)) key(e.key);
  else if (e.key === 'Backspace') key('del');
  else if (e.key === 'Enter') key('ok');
});
$('prev').addEventListener('click', () => void move(-1));
$('next').addEventListener('click', () => void move(1));
$('skip').addEventListener('click', () => ($('skip-box').hidden = !$('skip-box').hidden));
$('skip-save').addEventListener('click', () => {
  const code = $('skip-code').value;
  if (!code) return void ($('read-check').textContent = 'Choose why the meter was not read.');
  void saveReading(at.route.records[at.index], { reading: null, readCode: null, rekeyed: false, skipCode: code });
});
$('search').addEventListener('input', () => search($('search').value));
$('photo').addEventListener('change', async () => {
  const file = $('photo').files?.[0];
  if (!file) return;
  $('photo-status').textContent = 'Preparing the photo…';
  try {
    at.photo = await resizedPhoto(file);
    $('photo-status').textContent =
      `Photo kept (${Math.round(at.photo.size / 1024)} KB): it goes with this meter's reading.`;
    // A photo taken after the meter was saved goes with that reading.
    const rec = at.route.records[at.index];
    const mine = (await readingsOf(at.code)).find((r) => r.sequence === rec.sequence);
    if (mine) {
      await keepReadings([{ ...mine, photo: at.photo, photoSent: false, photoRefused: null }]);
      void changed();
    }
  } catch (err) {
    $('photo-status').textContent = `That photo could not be used: ${err.message}`;
  }
});
$('read-back').addEventListener('click', async () => {
  at.code = null;
  await changed();
  show('home-view');
});

// ---- Sync ----

/** The reader's part of a sync: the routes assigned to them, then every route's photos and batches sent. */
export async function syncReader() {
  await put('readerRoutes', await api('/reader/routes'));
  for (const code of await myRoutes()) {
    const route = await get(`route:${code}`);
    if (!route || route.finished) continue;
    await confirmHeld(route);
    await sendPhotos(code);
    await sendBatches(code);
  }
}

async function sendPhotos(code) {
  const route = await get(`route:${code}`);
  for (const r of (await readingsOf(code)).filter((x) => x.photo && !x.photoSent && !x.photoRefused)) {
    const where = new URLSearchParams({
      route: code,
      cycle: route.cycle,
      meter: r.meterId,
      register: String(r.register),
    });
    let outcome = { photoSent: true, photoRefused: null };
    try {
      await api(`/reader/photos?${where}`, { method: 'PUT', body: r.photo });
    } catch (err) {
      // A photo the gateway will not take as it is must not hold up the readings: kept, and said.
      if (!refused(err)) throw err;
      outcome = { photoSent: false, photoRefused: err.message };
    }
    await keepReadings([{ ...(await readingsOf(code)).find((x) => x.key === r.key), ...outcome }]);
  }
}

/** Sends a route's readings a batch at a time; a batch made once is sent as it is until the gateway answers. */
async function sendBatches(code) {
  for (;;) {
    const route = await get(`route:${code}`);
    let batch = await get(`batch:${code}`);
    let all = await readingsOf(code);
    if (!batch) {
      const fresh = all.filter((r) => !r.sent && !r.batchId).sort((a, b) => a.sequence - b.sequence);
      const take = fresh.slice(0, BATCH);
      const noneLeft = all.length === route.records.length || Boolean(route.finishRequested);
      const final = noneLeft && take.length === fresh.length;
      if (take.length === 0 && !(final && route.finishRequested)) return;
      batch = { batchId: crypto.randomUUID(), keys: take.map((r) => r.key), final };
      await keepReadings(take.map((r) => ({ ...r, batchId: batch.batchId })));
      await put(`batch:${code}`, batch);
      all = await readingsOf(code);
    }
    const readings = batch.keys.map((k) => wire(all.find((r) => r.key === k)));
    try {
      await api('/reader/readings', {
        method: 'POST',
        body: { batchId: batch.batchId, route: code, cycle: route.cycle, final: batch.final, readings },
      });
    } catch (err) {
      // Refused as it is: kept on the phone and shown; the other routes still go.
      if (!refused(err)) throw err;
      await put(`route:${code}`, { ...route, refused: err.message });
      return;
    }
    await keepReadings(all.filter((r) => batch.keys.includes(r.key)).map((r) => ({ ...r, sent: true })));
    await remove(`batch:${code}`);
    await put(`route:${code}`, { ...route, refused: null, finished: batch.final });
    if (batch.final) return;
  }
}

/** A reading as the gateway takes it. */
function wire(r) {
  return {
    sequence: r.sequence,
    account: r.account,
    meterId: r.meterId,
    register: r.register,
    reading: r.reading,
    readAt: r.readAt,
    readCode: r.readCode,
    skipCode: r.skipCode,
    troubleCode: r.troubleCode,
    rekeyed: r.rekeyed,
    lat: r.lat,
    lon: r.lon,
    note: r.note,
  };
}
