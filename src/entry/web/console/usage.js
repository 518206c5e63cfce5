// @ts-expect-error: the gateway serves uPlot from its npm package at this path (src/entry/api/console.ts).
import uPlotModule from './vendor/uPlot.esm.js';

/** @type {typeof import('uplot')} */
const uPlot = uPlotModule;

// Usage for a CSR on a high-bill call: a meter's or an account's intervals, days or months from
// /api/usage, estimated values drawn apart (orange points), and the customer's downloads.
import { $, ready, shell } from './app.js';

const params = new URLSearchParams(location.search);
await shell('usage.html');

const today = new Date().toISOString().slice(0, 10);
const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
$('kind').value = params.get('kind') ?? 'meters';
$('id').value = params.get('id') ?? '';
$('from').value = params.get('from') ?? monthAgo;
$('to').value = params.get('to') ?? today;
$('grain').value = params.get('grain') ?? 'day';

function status(text, error = false) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

// Raw responses (the chart data and file downloads) with the session cookie.
async function api(path) {
  const res = await fetch(path, { credentials: 'same-origin' });
  if (res.status === 401) {
    location.href = `login.html?next=${encodeURIComponent(`usage.html${location.search}`)}`;
    throw new Error('your session has ended; log in again');
  }
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new Error(body.error?.message ?? `${res.status} ${res.statusText}`);
  }
  return res;
}

function query() {
  return `from=${$('from').value}&to=${$('to').value}`;
}

function toSeconds(at) {
  // Intervals come as UTC instants; days and months as local dates, drawn at their start (noon
  // UTC keeps the date right in any zone the axis is drawn in).
  return Date.parse(at.length === 7 ? `${at}-01T12:00:00Z` : at.length === 10 ? `${at}T12:00:00Z` : at) / 1000;
}

function chart(item, grain, zone) {
  const box = document.createElement('div');
  box.className = 'register';
  const estimated = item.points.filter((p) => p.estimated > 0).length;
  const title = document.createElement('h2');
  title.textContent = `${item.meterId} register ${item.channel}: ${item.total} ${item.unit} over ${item.points.length} ${grain === 'interval' ? 'intervals' : grain === 'day' ? 'days' : 'months'}`;
  const note = document.createElement('p');
  note.className = 'legend-estimated';
  note.dataset.estimated = String(estimated);
  note.textContent = estimated
    ? `${estimated} ${grain === 'interval' ? 'intervals are' : 'periods include'} estimated (orange)`
    : 'all actual';
  box.append(title, note);
  const xs = item.points.map((p) => toSeconds(p.at));
  const actual = item.points.map((p) => (p.estimated ? null : p.value));
  const est = item.points.map((p) => (p.estimated ? p.value : null));
  const opts = {
    width: Math.min(1100, document.body.clientWidth - 64),
    height: 280,
    // The utility's time, whatever the browser's zone: a 7 a.m. peak is at 7 a.m. on the chart.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), zone),
    series: [
      {},
      { label: `actual (${item.unit})`, stroke: '#1c7ed6', width: 1.5, spanGaps: false },
      {
        label: `estimated (${item.unit})`,
        stroke: '#d9480f',
        width: 0,
        points: { show: true, size: 6, fill: '#d9480f' },
      },
    ],
    axes: [{}, { label: item.unit }],
  };
  const holder = document.createElement('div');
  box.append(holder);
  $('charts').append(box);
  new uPlot(opts, [xs, actual, est], holder);
}

async function show(event) {
  event?.preventDefault();
  const kind = $('kind').value;
  const id = $('id').value.trim();
  if (!id) return status('enter a meter or an account', true);
  status('loading…');
  $('charts').replaceChildren();
  try {
    const res = await api(`/api/usage/${kind}/${encodeURIComponent(id)}?${query()}&grain=${$('grain').value}`);
    const body = await res.json();
    if (body.items.length === 0)
      return status(`no interval data for ${id} between ${$('from').value} and ${$('to').value}`);
    for (const item of body.items) chart(item, body.grain, body.zone);
    status(`${body.items.length} register(s), times in ${body.zone}`);
    history.replaceState(null, '', `?kind=${kind}&id=${encodeURIComponent(id)}&${query()}&grain=${$('grain').value}`);
  } catch (err) {
    status(err.message, true);
  }
}

async function download(format) {
  const kind = $('kind').value;
  const id = $('id').value.trim();
  try {
    const res = await api(`/api/usage/${kind}/${encodeURIComponent(id)}/export?${query()}&format=${format}`);
    const name =
      /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ??
      `usage.${format === 'csv' ? 'csv' : 'xml'}`;
    const link = document.createElement('a');
    link.href = URL.createObjectURL(await res.blob());
    link.download = name;
    link.click();
    URL.revokeObjectURL(link.href);
  } catch (err) {
    status(err.message, true);
  }
}

$('query').addEventListener('submit', show);
$('export-csv').addEventListener('click', () => download('csv'));
$('export-espi').addEventListener('click', () => download('espi'));
if ($('id').value) show();
ready();
