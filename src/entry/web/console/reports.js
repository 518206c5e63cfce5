import { $, ready, accountLink, api, el, fillTable, meterLink, say, sayError, shell } from './app.js';

// Reports: pick one, fill in its parameters, read it here or download it as CSV.
await shell('reports.html');
let reports = [];
const params = new URLSearchParams(location.search);

function paramInputs() {
  const r = reports.find((x) => x.name === $('report').value);
  $('params').replaceChildren(
    ...(r?.params ?? []).map((p) =>
      el(
        'label',
        {},
        p,
        el('input', {
          name: p,
          'data-param': p,
          size: 10,
          placeholder: p === 'cycle' ? 'YYYY-MM' : p === 'route' ? 'any' : 'YYYY-MM-DD',
          value: params.get(p) ?? '',
        }),
      ),
    ),
  );
}

function query(format) {
  const q = new URLSearchParams({ format });
  for (const input of document.querySelectorAll('input[data-param]')) {
    if (input instanceof HTMLInputElement && input.value.trim()) q.set(input.dataset.param, input.value.trim());
  }
  return `/reports/${$('report').value}?${q}`;
}

/** A column's name as a heading: completionPct → Completion %. */
const heading = (c) =>
  c
    .replace(/([A-Z])/g, ' $1')
    .replace(/^./, (x) => x.toUpperCase())
    .replace(/ Pct$/, ' %');

/** A cell; an account or a meter links to the account page. */
function cell(column, value) {
  if (value === null || value === undefined || value === '') return '';
  if (column === 'accountNo') return accountLink(String(value));
  if (column === 'meterId') return meterLink(String(value));
  return value;
}

async function show() {
  try {
    const t = await api(query('json'));
    $('table').tHead.rows[0].replaceChildren(...t.columns.map((c) => el('th', {}, heading(c))));
    fillTable(
      $('table').tBodies[0],
      t.rows,
      (row) =>
        el(
          'tr',
          {},
          t.columns.map((c) => el('td', { class: typeof row[c] === 'number' ? 'num' : '' }, cell(c, row[c]))),
        ),
      'No rows.',
    );
    say(`${t.title}: ${t.rows.length} row(s)`);
  } catch (err) {
    sayError(err);
  }
}

$('report').addEventListener('change', paramInputs);
$('filters').addEventListener('submit', (e) => {
  e.preventDefault();
  show();
});
$('csv').addEventListener('click', () => {
  location.href = `/api${query('csv')}`;
});
try {
  reports = (await api('/reports')).items;
  $('report').replaceChildren(...reports.map((r) => el('option', { value: r.name }, r.title)));
  if (params.get('report')) $('report').value = params.get('report');
  paramInputs();
} catch (err) {
  sayError(err);
}
ready();
