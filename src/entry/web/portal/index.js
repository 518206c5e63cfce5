// @ts-expect-error: the gateway serves uPlot from its npm package at this path (src/entry/api/field-app.ts).
import uPlotModule from './vendor/uPlot.esm.js';
import { $, api, el, leaveFor, ready, say, session } from './portal.js';

/** @type {typeof import('uplot')} */
const uPlot = uPlotModule;

// The customer's own page: alerts in plain words first, then usage by day or hour against the
// same days last year, Download My Data, and how they hear of alerts.
const me = await session();
if (!me || me.user.role !== 'customer') await leaveFor('login.html');
const profile = await api('/portal/me');
const zone = profile.timeZone;
$('who').textContent = profile.displayName ?? profile.username;
let grain = 'day';

const today = () => profile.today;
const daysAgo = (n) => new Date(Date.parse(`${profile.today}T12:00:00Z`) - n * 86_400_000).toISOString().slice(0, 10);
const DAY = 86_400;

function noonOf(at) {
  return at.length === 10 ? Date.parse(`${at}T12:00:00Z`) / 1000 : Date.parse(at) / 1000;
}

function chart(item) {
  const box = el('div', { class: 'register' });
  const total = item.points.reduce((s, p) => s + p.value, 0);
  const lastYearTotal = item.lastYear.reduce((s, p) => s + p.value, 0);
  const unit = item.unit.toLowerCase();
  box.append(
    el('h3', {}, `${item.kind[0].toUpperCase()}${item.kind.slice(1)}, meter ${item.meterId}`),
    el(
      'p',
      {},
      el('span', { class: 'figure' }, `${Math.round(total).toLocaleString('en-US')} ${unit}`),
      grain === 'day' ? ' in 30 days' : ' in 2 days',
    ),
    item.lastYear.length
      ? el('p', { class: 'muted' }, `Same days last year: ${Math.round(lastYearTotal).toLocaleString('en-US')} ${unit}`)
      : el('p', { class: 'muted' }, 'No usage from the same days last year to compare with.'),
  );
  const holder = el('div', { class: 'chart' });
  box.append(holder);
  $('charts').append(box);
  const xs = item.points.map((p) => noonOf(p.at));
  const shift = 364 * DAY;
  const before = new Map(item.lastYear.map((p) => [noonOf(p.at) + shift, p.value]));
  new uPlot(
    {
      width: Math.max(260, holder.clientWidth || $('charts').clientWidth),
      height: 220,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), zone),
      series: [
        {},
        {
          label: grain === 'day' ? `${unit} a day` : `${unit} an hour`,
          stroke: '#1864ab',
          fill: 'rgba(24,100,171,0.12)',
          width: 2,
        },
        { label: 'last year', stroke: '#adb5bd', width: 2, dash: [6, 4] },
      ],
      axes: [{}, { size: 50 }],
    },
    [xs, item.points.map((p) => p.value), xs.map((x) => before.get(x) ?? null)],
    holder,
  );
}

async function showUsage() {
  const accountNo = $('account').value;
  $('charts').replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
  const from = grain === 'day' ? daysAgo(30) : daysAgo(1);
  const usage = await api(
    `/portal/accounts/${encodeURIComponent(accountNo)}/usage?from=${from}&to=${today()}&grain=${grain}`,
  );
  $('charts').replaceChildren();
  if (usage.items.length === 0) $('charts').append(el('p', { class: 'muted' }, 'Your meter does not send usage yet.'));
  for (const item of usage.items) chart(item);
}

async function showAccount() {
  const accountNo = $('account').value;
  const a = await api(`/portal/accounts/${encodeURIComponent(accountNo)}`);
  $('premise').textContent = `${a.customerName}, ${a.address}`;
  $('alerts').replaceChildren(
    ...(a.alerts.length
      ? [
          el(
            'div',
            { class: 'card alert', role: 'alert' },
            el(
              'h2',
              {},
              a.alerts.length === 1
                ? 'Something needs your attention'
                : `${a.alerts.length} things need your attention`,
            ),
            el(
              'ul',
              {},
              a.alerts.map((x) =>
                el('li', { 'data-rule': x.rule }, `${x.message[0].toUpperCase()}${x.message.slice(1)}.`),
              ),
            ),
          ),
        ]
      : [el('p', { class: 'ok' }, 'No alerts: nothing unusual in your usage.')]),
  );
  await showUsage();
}

async function download(format) {
  const accountNo = $('account').value;
  try {
    const res = await api(
      `/portal/accounts/${encodeURIComponent(accountNo)}/export?from=${$('from').value}&to=${$('to').value}&format=${format}`,
      { raw: true },
    );
    const name =
      /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ??
      `usage.${format === 'csv' ? 'csv' : 'xml'}`;
    const link = el('a', { href: URL.createObjectURL(await res.blob()), download: name });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (err) {
    say(err.message, 'error');
  }
}

async function loadConnections() {
  const { items } = await api('/portal/connections');
  const live = items.filter((c) => !c.revokedAt);
  $('connections').replaceChildren(
    ...(live.length
      ? live.map((c) =>
          el(
            'li',
            { 'data-connection': c.id },
            `${c.name} reads account ${c.accountNo} (since ${c.grantedAt.slice(0, 10)}) `,
            el(
              'button',
              {
                type: 'button',
                onclick: async () => {
                  await api(`/portal/connections/${c.id}`, { method: 'DELETE' });
                  await loadConnections();
                },
              },
              'Stop sharing',
            ),
          ),
        )
      : [el('li', { class: 'muted' }, 'None.')]),
  );
}

async function loadPreferences() {
  const p = await api('/portal/preferences');
  $('email').value = p.email ?? '';
  $('phone').value = p.phone ?? '';
  $('by-email').checked = p.byEmail;
  $('by-sms').checked = p.bySms;
}

$('prefs').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    await api('/portal/preferences', {
      method: 'PUT',
      body: {
        email: $('email').value.trim() || null,
        phone: $('phone').value.trim() || null,
        byEmail: $('by-email').checked,
        bySms: $('by-sms').checked,
      },
    });
    $('prefs-status').textContent = 'Saved.';
    $('prefs-status').className = 'ok';
  } catch (err) {
    $('prefs-status').textContent = err.message;
    $('prefs-status').className = 'error';
  }
});

for (const [id, g] of [
  ['by-day', 'day'],
  ['by-hour', 'hour'],
]) {
  $(id).addEventListener('click', async () => {
    grain = g;
    $('by-day').setAttribute('aria-pressed', String(g === 'day'));
    $('by-hour').setAttribute('aria-pressed', String(g === 'hour'));
    await showUsage();
  });
}
$('logout').addEventListener('click', async () => {
  await api('/session', { method: 'DELETE' }).catch(() => undefined);
  location.href = 'login.html';
});
$('download-espi').addEventListener('click', () => download('espi'));
$('download-csv').addEventListener('click', () => download('csv'));
$('account').addEventListener('change', showAccount);

const asked = new URLSearchParams(location.search).get('account');
if (profile.accounts.length === 0) say('No account is registered to you yet: register one with the code on your bill.');
else if (asked && !profile.accounts.includes(asked))
  // Nothing of an account that is not theirs, and not whether it exists.
  say(`Account ${asked} is not registered to you. Register it with the code on its bill.`, 'error');
else {
  $('account').replaceChildren(...profile.accounts.map((a) => el('option', { value: a, selected: a === asked }, a)));
  // One account: no choice to make.
  $('account').hidden = $('account-label').hidden = profile.accounts.length === 1;
  $('from').value = daysAgo(30);
  $('to').value = today();
  $('home').hidden = false;
  await showAccount();
  await loadPreferences();
  await loadConnections();
}
ready();
