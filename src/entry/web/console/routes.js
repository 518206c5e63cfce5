import { $, ready, api, el, fillTable, num, say, sayError, shell } from './app.js';

// Routes for each cycle: where every route stands, on which hand-held, and how far it is read.
await shell('routes.html');
let routes = [];

function render() {
  const cycle = $('cycle').value;
  const state = $('state').value;
  const rows = routes.filter((r) => (!cycle || r.cycle === cycle) && (!state || r.state === state));
  fillTable(
    $('routes').tBodies[0],
    rows,
    (r) => {
      const pct = r.records ? Math.round(((r.read + r.held) / r.records) * 100) : 0;
      return el(
        'tr',
        { 'data-route': r.route },
        el('td', {}, el('b', {}, r.route)),
        el('td', {}, r.description),
        el('td', {}, r.readDate),
        el('td', {}, el('span', { class: `badge ${r.state}` }, r.state)),
        el('td', {}, r.device ?? '—'),
        el('td', { class: 'num' }, num(r.records ?? 0)),
        el('td', { class: 'num' }, num(r.read)),
        el('td', { class: 'num' }, num(r.skipped)),
        el('td', { class: 'num' }, num(r.held)),
        el(
          'td',
          { class: 'num' },
          r.openExceptions
            ? el('a', { href: `exceptions.html?route=${encodeURIComponent(r.route)}` }, num(r.openExceptions))
            : '0',
        ),
        el(
          'td',
          {},
          el(
            'div',
            { class: `bar${pct >= 100 ? ' done' : ''}`, title: `${pct}%`, role: 'progressbar', 'aria-valuenow': pct },
            el('i', { style: { width: `${Math.min(100, pct)}%` } }),
          ),
          `${pct}%`,
        ),
      );
    },
    'No routes in this cycle.',
  );
  say(`${rows.length} route(s)`);
}

try {
  routes = (await api('/routes?limit=1000')).items;
  const cycles = [...new Set(routes.map((r) => r.cycle))].sort().reverse();
  $('cycle').replaceChildren(
    el('option', { value: '' }, 'all cycles'),
    ...cycles.map((c) => el('option', { value: c }, c)),
  );
  for (const s of [...new Set(routes.map((r) => r.state))].sort()) $('state').append(el('option', { value: s }, s));
  $('cycle').addEventListener('change', render);
  $('state').addEventListener('change', render);
  render();
} catch (err) {
  sayError(err);
}
ready();
