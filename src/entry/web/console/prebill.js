import { $, ready, accountLink, api, el, fillTable, money, num, say, sayError, shell, when } from './app.js';

// Pre-bill review: the cycle's preliminary billing ledger, sorted and filtered on the gateway,
// exported as CSV, and signed off by the CSR before the cycle's reads post to billing.
await shell('prebill.html');
const FLAGS = [
  'high',
  'low',
  'zero',
  'negative',
  'estimated',
  'skipped',
  'missing',
  'held',
  'rollover',
  'corrected',
  'unusual',
];
const PAGE = 100;
let offset = 0;
let sort = 'route';
let dir = 'asc';
$('f-flag').append(...FLAGS.map((f) => el('option', { value: f }, f)));

function filters() {
  const q = new URLSearchParams();
  if ($('f-flag').value) q.set('flag', $('f-flag').value);
  if ($('f-type').value) q.set('readType', $('f-type').value);
  if ($('f-route').value.trim()) q.set('route', $('f-route').value.trim());
  if ($('f-search').value.trim()) q.set('search', $('f-search').value.trim());
  if ($('f-flagged').checked) q.set('flagged', 'true');
  q.set('sort', sort);
  q.set('dir', dir);
  return q;
}

async function load() {
  const cycle = $('cycle').value;
  if (!cycle) return say('No cycle has routes yet: export a route first.');
  try {
    const q = filters();
    q.set('limit', String(PAGE));
    q.set('offset', String(offset));
    const l = await api(`/prebill/${cycle}?${q}`);
    const s = l.summary;
    $('summary').replaceChildren(
      ...[
        [num(s.accounts), 'accounts'],
        [num(s.rows), 'registers'],
        [num(s.consumption), 'consumption'],
        [money(s.estimatedTotal), 'estimated charges'],
        [num(s.estimated), 'estimated reads'],
        ...FLAGS.filter((f) => f !== 'estimated' && s.flagged[f]).map((f) => [num(s.flagged[f]), f]),
      ].map(([v, label]) => el('div', { class: 'tile', 'data-tile': label }, el('b', {}, v), el('span', {}, label))),
    );
    $('review-box').replaceChildren(
      l.review
        ? el(
            'p',
            { class: 'ok', id: 'reviewed' },
            `Reviewed by ${l.review.reviewedBy} ${when(l.review.reviewedAt)}${l.review.note ? `: ${l.review.note}` : ''}`,
          )
        : el(
            'span',
            {},
            el(
              'button',
              { type: 'button', class: 'primary', id: 'review', onclick: review },
              `Mark cycle ${cycle} reviewed`,
            ),
            el('span', { class: 'muted' }, ` Routes ${l.routes.join(', ')} · as of ${when(l.computedAt)}`),
          ),
    );
    fillTable(
      $('ledger').tBodies[0],
      l.items,
      (r) =>
        el(
          'tr',
          { 'data-account': r.accountNo },
          el('td', {}, r.route),
          el('td', {}, accountLink(r.accountNo)),
          el('td', {}, r.customerName ?? ''),
          el('td', {}, `${r.meterId}${r.register > 1 ? ` / ${r.register}` : ''}`),
          el('td', { class: 'num' }, num(r.prevRead)),
          el('td', { class: 'num' }, num(r.currentRead)),
          el('td', { class: 'num' }, r.multiplier === 1 ? '' : num(r.multiplier, 2)),
          el('td', { class: 'num' }, num(r.consumption, Number.isInteger(r.consumption) ? 0 : 2)),
          el('td', {}, el('span', { class: `badge ${r.readType === 'estimated' ? 'estimated' : 'ok'}` }, r.readType)),
          el(
            'td',
            {},
            r.flags.map((f) => el('span', { class: `badge ${f}` }, f)),
          ),
          el('td', { class: 'num' }, money(r.estimatedCharge)),
        ),
      'No rows match these filters.',
    );
    $('prev').disabled = offset === 0;
    $('next').disabled = offset + l.items.length >= l.total;
    $('page').textContent = l.total ? `${offset + 1}–${offset + l.items.length} of ${num(l.total)}` : '';
    say('');
  } catch (err) {
    sayError(err);
  }
}

async function review() {
  const cycle = $('cycle').value;
  try {
    const r = await api(`/prebill/${cycle}/review`, { method: 'POST', body: {} });
    say(
      `Cycle ${cycle} reviewed by ${r.reviewedBy}. ${r.queuedForBilling} read(s) queued for billing${r.heldReads ? `; ${r.heldReads} still held` : ''}.`,
      'ok',
    );
    await load();
  } catch (err) {
    sayError(err);
  }
}

for (const b of document.querySelectorAll('button.sort')) {
  if (!(b instanceof HTMLButtonElement)) continue;
  b.addEventListener('click', () => {
    dir = sort === b.dataset.sort && dir === 'asc' ? 'desc' : 'asc';
    sort = b.dataset.sort;
    offset = 0;
    load();
  });
}
$('export').addEventListener('click', () => {
  location.href = `/api/prebill/${$('cycle').value}/export?${filters()}`;
});
for (const id of ['cycle', 'f-flag', 'f-type', 'f-flagged'])
  $(id).addEventListener('change', () => {
    offset = 0;
    load();
  });
for (const id of ['f-route', 'f-search'])
  $(id).addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      offset = 0;
      load();
    }
  });
$('filters').addEventListener('submit', (e) => e.preventDefault());
$('prev').addEventListener('click', () => {
  offset = Math.max(0, offset - PAGE);
  load();
});
$('next').addEventListener('click', () => {
  offset += PAGE;
  load();
});
try {
  const cycles = (await api('/prebill/cycles')).items;
  $('cycle').replaceChildren(
    ...cycles.map((c) => el('option', { value: c.cycle }, `${c.cycle}${c.reviewedBy ? ' ✓' : ''}`)),
  );
  await load();
} catch (err) {
  sayError(err);
}
ready();
