import { $, ready, accountLink, api, ask, el, meterLink, photoGallery, say, sayError, shell, when } from './app.js';

// The work-order board: open orders in columns by state, each with its technician, due date and
// whether it is overdue; dispatch, cancel (with a reason) and create orders.
await shell('work-orders.html');
const STATES = ['created', 'dispatched', 'accepted', 'en_route', 'on_site'];
const TYPES = [
  'TurnOn',
  'TurnOff',
  'CutForNonPayment',
  'Reconnect',
  'MeterExchange',
  'ReRead',
  'Investigation',
  'DisconnectWarning',
  'MeterInstall',
  'MeterRemoval',
];
let orders = [];

$('n-type').append(...TYPES.map((t) => el('option', { value: t }, t)));
$('f-type').append(...TYPES.map((t) => el('option', { value: t }, t)));

function orderCard(o) {
  return el(
    'div',
    { class: `order${o.overdue ? ' overdue' : ''}`, 'data-order': o.orderNo },
    el(
      'div',
      {},
      el('b', {}, o.orderNo),
      ' ',
      o.type,
      o.overdue ? el('span', { class: 'badge overdue' }, 'overdue') : null,
    ),
    el(
      'div',
      { class: 'meta' },
      o.accountNo ? ['acct ', accountLink(o.accountNo), ' · '] : '',
      o.meterId ? ['meter ', meterLink(o.meterId), o.area ? ' · ' : ''] : '',
      o.area ?? '',
    ),
    el(
      'div',
      { class: 'meta' },
      `P${o.priority}${o.dueDate ? ` · due ${o.dueDate}` : ''} · ${o.technician ?? 'unassigned'}`,
    ),
    o.notes ? el('div', { class: 'meta' }, o.notes) : null,
    el(
      'div',
      { class: 'toolbar' },
      el('button', { type: 'button', onclick: () => dispatch(o) }, o.technician ? 'Re-dispatch' : 'Dispatch'),
      el('button', { type: 'button', class: 'danger', onclick: () => cancel(o) }, 'Cancel'),
      el('button', { type: 'button', onclick: () => showHistory(o.orderNo) }, 'History'),
    ),
  );
}

function render() {
  const tech = $('f-tech').value;
  const type = $('f-type').value;
  const shown = orders.filter(
    (o) =>
      (!tech || (o.technician ?? '') === tech) && (!type || o.type === type) && (!$('f-overdue').checked || o.overdue),
  );
  $('board').replaceChildren(
    ...STATES.map((s) => {
      const list = shown.filter((o) => o.state === s);
      return el(
        'section',
        { class: 'column', 'data-state': s },
        el('h2', {}, s.replace('_', ' '), el('span', {}, String(list.length))),
        ...list.map(orderCard),
      );
    }),
  );
}

async function load() {
  try {
    const [page, board] = await Promise.all([api('/work-orders?open=true&limit=1000'), api('/work-orders/dispatch')]);
    orders = page.items;
    $('tiles').replaceChildren(
      el('div', { class: 'tile' }, el('b', {}, String(board.open)), el('span', {}, 'open orders')),
      el(
        'div',
        { class: 'tile' },
        el('b', { class: board.overdue.length ? 'error' : '' }, String(board.overdue.length)),
        el('span', {}, 'overdue'),
      ),
      ...Object.entries(board.byTechnician).map(([t, n]) =>
        el('div', { class: 'tile' }, el('b', {}, String(n)), el('span', {}, t)),
      ),
    );
    const techs = [...new Set(orders.map((o) => o.technician).filter(Boolean))].sort();
    const keep = $('f-tech').value;
    $('f-tech').replaceChildren(el('option', { value: '' }, 'all'), ...techs.map((t) => el('option', { value: t }, t)));
    $('f-tech').value = keep;
    render();
    say(`${orders.length} open order(s), updated ${when(new Date().toISOString())}`);
  } catch (err) {
    sayError(err);
  }
}

/** An event's detail as a person reads it: `gps 41.87810, -87.62980 · technician tom`. */
function eventDetail(detail) {
  if (!detail) return '';
  try {
    return Object.entries(JSON.parse(detail))
      .map(([k, v]) =>
        k === 'gps' && v ? `GPS ${v.lat}, ${v.lon}` : `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`,
      )
      .join(' · ');
  } catch {
    return detail;
  }
}

/** One order's history, step by step as it happened in the field, and the technician's photos. */
async function showHistory(orderNo) {
  try {
    const o = await api(`/work-orders/${encodeURIComponent(orderNo)}`);
    const c = o.completion;
    $('order-detail').replaceChildren(
      el('h3', {}, `${o.orderNo} · ${o.type} · ${o.state.replace('_', ' ')}`),
      el(
        'p',
        { class: 'meta' },
        o.accountNo ? ['account ', accountLink(o.accountNo), ' · '] : '',
        o.meterId ? ['meter ', meterLink(o.meterId), ' · '] : '',
        o.technician ?? 'unassigned',
      ),
      c
        ? el(
            'p',
            {},
            [
              `Outcome ${c.outcome}`,
              c.finalRead != null && `final read ${c.finalRead}`,
              c.newMeterSerial && `new meter ${c.newMeterSerial}`,
              c.newMeterRead != null && `first read ${c.newMeterRead}`,
              c.seals?.length && `seals ${c.seals.join(', ')}`,
              c.notes,
            ]
              .filter(Boolean)
              .join(' · '),
          )
        : null,
      el(
        'table',
        {},
        el('thead', {}, el('tr', {}, ...['When', 'Step', 'By', 'Detail'].map((h) => el('th', {}, h)))),
        el(
          'tbody',
          {},
          ...o.history.map((e) =>
            el(
              'tr',
              {},
              el('td', {}, when(e.at)),
              el('td', {}, `${e.from_state ? `${e.from_state} → ` : ''}${e.to_state}`),
              el('td', {}, e.actor),
              el('td', {}, eventDetail(e.detail)),
            ),
          ),
        ),
      ),
      ...photoGallery(o.photos, { heading: 'h3', alt: () => `photo of order ${o.orderNo}` }),
    );
    $('order-detail').hidden = false;
    $('order-detail').scrollIntoView({ block: 'nearest' });
  } catch (err) {
    sayError(err);
  }
}

$('lookup').addEventListener('submit', (e) => {
  e.preventDefault();
  void showHistory($('l-order').value.trim());
});

async function dispatch(o) {
  const technician = await ask(`Dispatch ${o.orderNo} (${o.type})`, { label: 'Technician', value: o.technician ?? '' });
  if (!technician) return;
  try {
    await api(`/work-orders/${o.orderNo}/dispatch`, { method: 'POST', body: { version: o.version, technician } });
    say(`${o.orderNo} dispatched to ${technician}`, 'ok');
    await load();
  } catch (err) {
    sayError(err);
    if (err.status === 409) await load();
  }
}

async function cancel(o) {
  const reason = await ask(`Cancel ${o.orderNo} (${o.type})`, { label: 'Reason (kept with the order)' });
  if (!reason) return;
  try {
    await api(`/work-orders/${o.orderNo}/cancel`, { method: 'POST', body: { version: o.version, reason } });
    say(`${o.orderNo} cancelled`, 'ok');
    await load();
  } catch (err) {
    sayError(err);
    if (err.status === 409) await load();
  }
}

$('create').addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = { type: $('n-type').value, priority: Number($('n-priority').value) };
  for (const [key, id] of [
    ['accountNo', 'n-account'],
    ['meterId', 'n-meter'],
    ['dueDate', 'n-due'],
    ['notes', 'n-notes'],
  ])
    if ($(id).value.trim()) body[key] = $(id).value.trim();
  try {
    const order = await api('/work-orders', { method: 'POST', body });
    say(`Created ${order.orderNo}`, 'ok');
    e.target.reset();
    await load();
  } catch (err) {
    sayError(err);
  }
});
for (const id of ['f-tech', 'f-type', 'f-overdue']) $(id).addEventListener('change', render);
await load();
// Linked from the account page: one order's history opened.
const linked = new URLSearchParams(location.search).get('order');
if (linked) await showHistory(linked);
setInterval(load, 30_000);
ready();
