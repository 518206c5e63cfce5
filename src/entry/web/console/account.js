// @ts-expect-error: the gateway serves uPlot from its npm package at this path (src/entry/api/console.ts).
import uPlotModule from './vendor/uPlot.esm.js';

/** @type {typeof import('uplot')} */
const uPlot = uPlotModule;

// The account page: a CSR finds a customer by account, name, address or meter, and answers the
// call from one page: standing and past-due state, meters, read history (a chart with the same
// season last year), AMI usage, usage alerts, exceptions, work orders and the bill explainer.
import { $, accountHref, api, el, fillTable, money, num, ready, say, sayError, shell, when, zone } from './app.js';

const params = new URLSearchParams(location.search);
await shell('account.html');

const TYPES = { W: 'water', E: 'electric', G: 'gas' };
const STATES = {
  paid: 'paid up',
  balance_due: 'balance due, not yet past due',
  past_due: 'past due',
  noticed: 'disconnect notice sent',
  cut_ordered: 'cut for non-payment ordered',
  cut: 'cut for non-payment',
};

async function search(event) {
  event?.preventDefault();
  const q = $('q').value.trim();
  if (q.length < 2) return say('type at least 2 characters', 'error');
  say('searching…');
  try {
    const { items } = await api(`/accounts?q=${encodeURIComponent(q)}`);
    history.replaceState(null, '', `?q=${encodeURIComponent(q)}`);
    if (items.length === 1) return show(items[0].accountNo);
    $('account').hidden = true;
    $('results').hidden = false;
    fillTable(
      $('results').tBodies[0],
      items,
      (a) =>
        el(
          'tr',
          {},
          el('td', {}, el('a', { href: accountHref(a.accountNo) }, a.accountNo)),
          el('td', {}, a.customerName),
          el('td', {}, `${a.address}, ${a.city}`),
          el('td', {}, el('span', { class: `badge ${a.active ? 'ok' : 'skipped'}` }, a.active ? 'active' : 'inactive')),
        ),
      `no account matches "${q}"`,
    );
    say(items.length === 25 ? 'the first 25 matches: search for more of the name or address' : `${items.length} found`);
  } catch (err) {
    sayError(err);
  }
}

function head(d) {
  const a = d.account;
  const p = d.pastDue;
  const cut = p.cutOrderNo
    ? el('a', { href: `work-orders.html?order=${encodeURIComponent(p.cutOrderNo)}` }, p.cutOrderNo)
    : null;
  const reconnect = p.reconnectOrderNo
    ? el('a', { href: `work-orders.html?order=${encodeURIComponent(p.reconnectOrderNo)}` }, p.reconnectOrderNo)
    : null;
  $('head').replaceChildren(
    el('h2', {}, `${a.customerName} · ${a.accountNo}`),
    el('p', {}, `${a.address}, ${a.city} (premise ${a.premiseId})`),
    el(
      'p',
      {},
      el('span', { class: `badge ${a.active ? 'ok' : 'skipped'}` }, a.active ? 'active' : `inactive (${a.status})`),
      ' ',
      a.rate ? `${a.rate.code}: ${a.rate.description}` : 'no rate',
    ),
    el(
      'p',
      { id: 'standing' },
      `Balance ${money(a.balanceDue)}`,
      a.dueDate ? `, due ${a.dueDate}` : '',
      ' · ',
      el('span', { class: `badge ${p.pastDue ? 'high' : 'ok'}` }, STATES[p.state] ?? p.state),
      p.shutOffDate ? ` · shut-off date ${p.shutOffDate}` : '',
      cut ? [' · cut order ', cut] : '',
      reconnect ? [' · reconnect order ', reconnect] : '',
      p.arrangementUntil ? ` · payment arrangement until ${p.arrangementUntil}` : '',
    ),
    el(
      'p',
      {},
      el('button', { type: 'button', id: 'invite', onclick: () => invite(a.accountNo) }, 'Send portal invite'),
      ' ',
      el('a', { href: `usage.html?kind=accounts&id=${encodeURIComponent(a.accountNo)}` }, 'Usage by interval'),
    ),
    el('p', { id: 'invite-code', role: 'status' }),
  );
}

async function invite(accountNo) {
  try {
    const r = await api(`/accounts/${encodeURIComponent(accountNo)}/portal-invite`, { method: 'POST', body: {} });
    $('invite-code').replaceChildren(
      'Registration code ',
      el('b', { class: 'code' }, r.code),
      ` for account ${accountNo}, good until ${when(r.expiresAt)}. The customer registers at `,
      el('a', { href: r.registerUrl }, new URL(r.registerUrl, location.href).href),
      '. The code is shown once: read it to the customer or send it.',
    );
  } catch (err) {
    sayError(err);
  }
}

function alerts(d) {
  const open = d.alerts.filter((a) => a.open);
  const cleared = d.alerts.filter((a) => !a.open);
  $('alerts').replaceChildren(
    ...(open.length
      ? [
          el(
            'div',
            { class: 'card alert' },
            el('h2', {}, `Usage alerts (${open.length})`),
            el(
              'ul',
              {},
              open.map((a) =>
                el('li', { 'data-rule': a.rule }, el('b', {}, a.meterId), `: ${a.message} (since ${when(a.since)})`),
              ),
            ),
          ),
        ]
      : []),
    ...(cleared.length
      ? [
          el(
            'details',
            {},
            el('summary', {}, `${cleared.length} alert(s) cleared in the last 90 days`),
            el(
              'ul',
              {},
              cleared.map((a) => el('li', {}, `${a.meterId}: ${a.message} (cleared ${when(a.clearedAt)})`)),
            ),
          ),
        ]
      : []),
  );
}

function explainer(d) {
  const parts = [];
  for (const m of d.meters)
    for (const r of m.registers) {
      if (!r.explainer) continue;
      parts.push(
        el('h3', {}, `${m.meterId} register ${r.registerNo} (${r.uom})`),
        el(
          'ul',
          {},
          r.explainer.sentences.map((s) => el('li', {}, s)),
        ),
      );
    }
  const open = d.alerts.filter((a) => a.open);
  if (open.length) parts.push(el('p', {}, el('b', {}, 'Alerts: '), open.map((a) => a.message).join('; ')));
  $('explain').replaceChildren(
    ...(parts.length ? parts : [el('p', { class: 'muted' }, 'No billed period to explain yet.')]),
  );
}

function meters(d) {
  const rows = d.meters.flatMap((m) =>
    (m.registers.length ? m.registers : [null]).map((r) =>
      el(
        'tr',
        {},
        el('td', {}, m.meterId),
        el('td', {}, TYPES[m.meterType] ?? m.meterType),
        el('td', {}, m.serial),
        el('td', {}, m.radioId ?? ''),
        el('td', {}, m.routeCode ? `${m.routeCode} #${m.routeSeq ?? ''}` : ''),
        el('td', {}, m.location ?? ''),
        el(
          'td',
          {},
          r ? `${r.registerNo} (${r.uom}, ${m.dials} dials${m.multiplier !== 1 ? `, ×${m.multiplier}` : ''})` : '',
        ),
        el('td', { class: 'num' }, r ? `${num(r.lastReadValue)} on ${r.lastReadDate}` : ''),
        el('td', {}, el('span', { class: `badge ${m.active ? 'ok' : 'skipped'}` }, m.active ? 'active' : m.status)),
      ),
    ),
  );
  fillTable($('meters').tBodies[0], rows, (r) => r, 'no meters on this account');
}

const noon = (date) => Date.parse(`${date}T12:00:00Z`) / 1000;
const DAY = 86_400;

function lineChart(holder, title, xs, series, unit) {
  const box = el('div', { class: 'register' }, el('h3', {}, title));
  const plot = el('div');
  box.append(plot);
  holder.append(box);
  new uPlot(
    {
      width: Math.min(1100, document.body.clientWidth - 64),
      height: 240,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), zone()),
      series: [{}, ...series],
      axes: [{}, { label: unit }],
    },
    [xs, ...series.map((s) => s.data)],
    plot,
  );
}

/** Billing's periods as use a day, this year against the same periods a year before (drawn a year on). */
function historyCharts(d) {
  const box = $('history-charts');
  box.replaceChildren(el('h2', {}, 'Read history'));
  for (const m of d.meters)
    for (const r of m.registers) {
      const periods = [];
      for (let i = 1; i < r.history.length; i++) {
        const days = Math.max(1, (noon(r.history[i].readDate) - noon(r.history[i - 1].readDate)) / DAY);
        periods.push({
          at: noon(r.history[i].readDate),
          perDay: r.history[i].consumption / days,
          est: r.history[i].estimated,
        });
      }
      if (periods.length === 0) continue;
      const yearAgo = Date.now() / 1000 - 365 * DAY;
      const recent = periods.filter((p) => p.at >= yearAgo);
      const before = periods.filter((p) => p.at < yearAgo && p.at >= yearAgo - 365 * DAY);
      const xs = [...new Set([...recent.map((p) => p.at), ...before.map((p) => p.at + 365 * DAY)])].sort(
        (a, b) => a - b,
      );
      const at = (list, shift) => xs.map((x) => list.find((p) => p.at + shift === x)?.perDay ?? null);
      lineChart(
        box,
        `${m.meterId} register ${r.registerNo}: ${r.uom.toLowerCase()} a day by billing period`,
        xs,
        [
          { label: 'this year', stroke: '#1c7ed6', width: 2, spanGaps: true, data: at(recent, 0) },
          {
            label: 'a year before',
            stroke: '#adb5bd',
            width: 2,
            dash: [6, 4],
            spanGaps: true,
            data: at(before, 365 * DAY),
          },
        ],
        `${r.uom} a day`,
      );
    }
}

function historyTable(d) {
  const rows = [];
  for (const m of d.meters)
    for (const r of m.registers) {
      for (const h of r.history)
        rows.push({
          date: h.readDate,
          meter: `${m.meterId}/${r.registerNo}`,
          reading: h.readValue,
          used: h.consumption,
          type: h.estimated ? 'estimated' : 'actual',
          codes: '',
          by: 'billing',
          how: '',
        });
      for (const x of r.reads)
        rows.push({
          date: x.readAt ? when(x.readAt) : '',
          meter: `${m.meterId}/${r.registerNo}`,
          reading: x.reading,
          used: x.consumption,
          type: x.status === 'skipped' ? 'skipped' : x.status === 'held' ? `${x.readType}, held` : x.readType,
          codes: [x.readCode, x.skipCode, x.troubleCode].filter(Boolean).join(' '),
          by: x.readerId ? `reader ${x.readerId}` : (x.source ?? ''),
          how: [x.method, x.source, x.route && `route ${x.route}`].filter(Boolean).join(', '),
        });
    }
  rows.sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0));
  fillTable(
    $('history').tBodies[0],
    rows.slice(0, 60),
    (h) =>
      el(
        'tr',
        {},
        el('td', {}, h.date),
        el('td', {}, h.meter),
        el('td', { class: 'num' }, num(h.reading)),
        el('td', { class: 'num' }, num(h.used)),
        el('td', {}, el('span', { class: `badge ${h.type.split(',')[0]}` }, h.type)),
        el('td', {}, h.codes),
        el('td', {}, h.by),
        el('td', {}, h.how),
      ),
    'no reads yet',
  );
}

function usageCharts(d) {
  const box = $('usage-charts');
  box.replaceChildren();
  for (const m of d.meters)
    for (const r of m.registers) {
      if (!r.usage || r.usage.days.length === 0) continue;
      if (!box.childElementCount) box.append(el('h2', {}, 'AMI usage, by day'));
      const xs = r.usage.days.map((p) => noon(p.at));
      const lastYear = new Map(r.usage.lastYear.map((p) => [noon(p.at) + 364 * DAY, p.value]));
      lineChart(
        box,
        `${m.meterId} register ${r.registerNo}: ${r.usage.from} to ${r.usage.to}${r.usage.lastYear.length ? ', with the same days last year' : ''}`,
        xs,
        [
          {
            label: `${r.uom.toLowerCase()} a day`,
            stroke: '#1c7ed6',
            width: 2,
            data: r.usage.days.map((p) => p.value),
          },
          {
            label: 'same days last year',
            stroke: '#adb5bd',
            width: 2,
            dash: [6, 4],
            data: xs.map((x) => lastYear.get(x) ?? null),
          },
        ],
        r.uom,
      );
    }
}

function exceptions(d) {
  fillTable(
    $('exceptions').tBodies[0],
    d.exceptions,
    (x) =>
      el(
        'tr',
        {},
        el('td', {}, when(x.created_at)),
        el('td', {}, x.meter_id ?? ''),
        el('td', {}, el('span', { class: `badge ${x.severity}` }, x.kind)),
        el('td', {}, x.message),
        el(
          'td',
          {},
          x.status === 'open'
            ? el('a', { href: `exceptions.html?kind=${encodeURIComponent(x.kind)}` }, 'open')
            : `${x.status}${x.resolution ? `: ${x.resolution}` : ''}`,
        ),
      ),
    'no exceptions',
  );
}

function orders(d) {
  $('orders').replaceChildren(
    ...(d.workOrders.length
      ? d.workOrders.map((o) =>
          el(
            'details',
            { class: 'order' },
            el(
              'summary',
              {},
              el('a', { href: `work-orders.html?order=${encodeURIComponent(o.orderNo)}` }, o.orderNo),
              ` ${o.type} · `,
              el('span', { class: `badge ${o.state}` }, o.state),
              o.meterId ? ` · meter ${o.meterId}` : '',
              o.dueDate ? ` · due ${o.dueDate}` : '',
              o.notes ? ` · ${o.notes}` : '',
            ),
            el(
              'ol',
              {},
              o.history.map((e) =>
                el('li', {}, `${when(e.at)} ${e.from_state ? `${e.from_state} → ` : ''}${e.to_state} by ${e.actor}`),
              ),
            ),
          ),
        )
      : [el('p', { class: 'muted' }, 'no work orders')]),
  );
}

async function show(accountNo) {
  say('loading…');
  try {
    const d = await api(`/accounts/${encodeURIComponent(accountNo)}`);
    history.replaceState(null, '', accountHref(accountNo));
    document.title = `${d.account.customerName} · ${accountNo} · fieldgate`;
    $('title').textContent = 'Account';
    $('results').hidden = true;
    $('account').hidden = false;
    head(d);
    alerts(d);
    explainer(d);
    meters(d);
    historyCharts(d);
    historyTable(d);
    usageCharts(d);
    exceptions(d);
    orders(d);
    say(`account ${accountNo}, times in ${zone()}`);
  } catch (err) {
    $('account').hidden = true;
    sayError(err);
  }
}

$('search').addEventListener('submit', search);
if (params.get('account')) await show(params.get('account'));
else if (params.get('q')) {
  $('q').value = params.get('q');
  await search();
}
ready();
