import { $, ready, ago, api, ask, el, fillTable, meterLink, photoGallery, say, sayError, shell, when } from './app.js';

// The exception queue. Filter it, walk it with the keyboard (j/k, x to select), and act:
// accept, correct (the value before and after are kept in the audit log), estimate, or send
// someone to read the meter again. Several selected exceptions can be accepted or estimated at once.
await shell('exceptions.html');
const params = new URLSearchParams(location.search);
const PAGE = 50;
let offset = 0;
let rows = [];
let current = 0;
const selected = new Set();

$('f-route').value = params.get('route') ?? '';
if (params.get('status') !== null) $('f-status').value = params.get('status');
const KINDS = [
  'HIGH_READ',
  'LOW_READ',
  'NEGATIVE_CONSUMPTION',
  'SKIPPED',
  'MISSING_READ',
  'NOT_READ',
  'TROUBLE',
  'UNKNOWN_CODE',
  'UNKNOWN_METER',
  'METER_NOT_ON_ROUTE',
  'ACCOUNT_MISMATCH',
  'BAD_FIELD',
  'NOT_A_NUMBER',
  'BAD_DATE',
  'DUPLICATE_READ',
  'SPIKE',
  'MISSING',
  'ZERO_DAYS',
  'HIGH_DAY',
  'LOW_DAY',
  'ROLLOVER',
  'SUM_CHECK',
  'BAD_MESSAGE',
  'UNKNOWN_REGISTER',
  'SILENT_METER',
];
$('f-kind').append(...KINDS.map((k) => el('option', { value: k }, k.replace(/_/g, ' ').toLowerCase())));
if (params.get('kind')) $('f-kind').value = params.get('kind');

function query() {
  const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  if ($('f-status').value) q.set('status', $('f-status').value);
  if ($('f-route').value.trim()) q.set('route', $('f-route').value.trim());
  if ($('f-kind').value) q.set('kind', $('f-kind').value);
  if ($('f-age').value) q.set('minAgeDays', $('f-age').value);
  return q;
}

async function load() {
  try {
    const page = await api(`/exceptions?${query()}`);
    rows = page.items;
    current = Math.min(current, Math.max(0, rows.length - 1));
    $('prev').disabled = offset === 0;
    $('next').disabled = page.nextOffset === null;
    $('page').textContent = rows.length ? `${offset + 1}–${offset + rows.length}` : '';
    render();
    say(rows.length ? `${rows.length} exception(s) on this page` : 'The queue is empty for these filters.');
    if (rows.length) await showDetail(rows[current]);
    else $('detail').replaceChildren(el('p', { class: 'muted' }, 'Nothing selected.'));
  } catch (err) {
    sayError(err);
  }
}

function render() {
  fillTable(
    $('exceptions').tBodies[0],
    rows,
    (x, i) =>
      el(
        'tr',
        {
          'data-id': x.id,
          class: [i === current ? 'current' : '', selected.has(x.id) ? 'selected' : ''].join(' ').trim(),
          onclick: (e) => {
            if (e.target.type !== 'checkbox') {
              current = i;
              render();
              showDetail(x);
            }
          },
        },
        el(
          'td',
          {},
          el('input', {
            type: 'checkbox',
            checked: selected.has(x.id),
            'aria-label': `select ${x.id}`,
            onchange: () => toggle(x.id),
          }),
        ),
        el('td', {}, String(x.id)),
        el('td', { title: when(x.created_at) }, ago(x.created_at)),
        el('td', {}, x.route_code ?? ''),
        el('td', {}, x.meter_id ? meterLink(x.meter_id) : ''),
        el('td', {}, el('span', { class: `badge ${x.severity}` }, x.kind)),
        el('td', {}, x.message),
        el(
          'td',
          {},
          x.status === 'open'
            ? el('span', { class: 'badge' }, 'open')
            : el('span', { class: 'badge ok', title: x.resolution ?? '' }, 'resolved'),
        ),
      ),
    'No exceptions.',
  );
  $('selected').textContent = selected.size ? `${selected.size} selected` : '';
  $('bulk-accept').disabled = $('bulk-estimate').disabled = selected.size === 0;
  $('exceptions').tBodies[0].rows[current]?.scrollIntoView({ block: 'nearest' });
}

function toggle(id) {
  if (selected.has(id)) selected.delete(id);
  else selected.add(id);
  render();
}

async function showDetail(x) {
  try {
    const d = await api(`/exceptions/${x.id}`);
    const r = d.reading;
    const open = d.status === 'open';
    $('detail').replaceChildren(
      ...[
        el('h2', {}, `#${d.id} ${d.kind}`),
        el('p', {}, d.message),
        el(
          'dl',
          { class: 'muted' },
          `Source ${d.source}${d.line_no ? `, line ${d.line_no}` : ''}${d.field ? `, field ${d.field}` : ''}${d.value ? ` = ${d.value}` : ''}`,
        ),
        r
          ? el(
              'p',
              {},
              `Reading ${r.reading ?? '(none)'} · ${r.status} · ${r.read_type}${r.consumption !== null ? ` · ${r.consumption} units` : ''}`,
            )
          : null,
        d.raw ? el('pre', {}, d.raw) : null,
        // The field app's photos of the meter: the reader's evidence for a high or low read.
        ...photoGallery(d.photos ?? [], {
          heading: 'h2',
          alt: (p) => `photo of meter ${p.meter_id} register ${p.register}`,
        }),
        open
          ? el(
              'div',
              { class: 'toolbar' },
              el('button', { type: 'button', class: 'primary', onclick: () => act('accept') }, 'Accept (a)'),
              el('button', { type: 'button', onclick: () => act('correct'), disabled: !r }, 'Correct… (c)'),
              el('button', { type: 'button', onclick: () => act('estimate') }, 'Estimate (e)'),
              el('button', { type: 'button', onclick: () => act('reread'), disabled: !d.meter_id }, 'Re-read (r)'),
              claimable(d)
                ? el('button', { type: 'button', onclick: () => act('claim') }, 'Claim for a meter… (m)')
                : null,
            )
          : el('p', { class: 'ok' }, `Resolved by ${d.resolved_by} ${when(d.resolved_at)}: ${d.resolution}`),
        d.audit.length ? el('h2', {}, 'Audit trail') : null,
        ...d.audit.map((a) =>
          el(
            'p',
            { class: 'muted' },
            `${when(a.at)} ${a.actor}: ${a.action.replace('exception.', '')}${a.detail?.resolution ? ` (${a.detail.resolution})` : ''}`,
          ),
        ),
      ].filter(Boolean),
    );
  } catch (err) {
    sayError(err);
  }
}

/** An AMI source's meter id that billing does not know: a CSR can name the billing meter it is (its parked data is imported). */
function claimable(x) {
  return x.kind === 'UNKNOWN_METER' && x.source.startsWith('ami-') && Boolean(x.meter_id ?? x.value);
}

async function claim(x) {
  const sourceId = x.meter_id ?? x.value;
  const meterId = await ask(`Which billing meter is '${sourceId}'? Its parked AMI data is imported to it.`, {
    label: 'Billing meter id',
  });
  if (!meterId) return null;
  const result = await api('/ami/claims', { method: 'POST', body: { sourceId, meterId: meterId.trim() } });
  const m = result.matched[0];
  return m
    ? `'${sourceId}' claimed for meter ${m.meterId}: ${m.intervals} parked intervals and ${m.reads} register reads imported (batch ${m.batchId})`
    : `'${sourceId}' claimed for meter ${meterId.trim()}; nothing was parked for it`;
}

async function act(action) {
  const x = rows[current];
  if (!x || x.status !== 'open') return;
  try {
    let done;
    if (action === 'claim') {
      if (!claimable(x)) return;
      done = await claim(x);
      if (done === null) return;
    } else if (action === 'correct') {
      const value = await ask(`Correct the reading of meter ${x.meter_id}`, {
        label: 'Correct reading',
        type: 'number',
      });
      if (value === null) return;
      const reason = await ask('Why is it corrected?', { label: 'Reason (kept in the audit log)' });
      if (!reason) return;
      done = (await api(`/exceptions/${x.id}/correct`, { method: 'POST', body: { reading: Number(value), reason } }))
        .resolution;
    } else if (action === 'reread') {
      done = `re-read ordered, work order ${(await api(`/exceptions/${x.id}/reread`, { method: 'POST', body: {} })).orderNo}`;
    } else {
      done = (await api(`/exceptions/${x.id}/${action}`, { method: 'POST', body: {} })).resolution;
    }
    // The queue moves on; what was done is said last, so it stays on screen.
    await load();
    say(`#${x.id}: ${done}`, 'ok');
  } catch (err) {
    sayError(err);
  }
}

async function bulk(action) {
  const ids = [...selected];
  try {
    const result = await api('/exceptions/bulk', { method: 'POST', body: { ids, action } });
    selected.clear();
    await load();
    say(
      `${result.resolved.length} ${action === 'accept' ? 'accepted' : 'estimated'}${result.failed.length ? `; ${result.failed.length} not: ${result.failed.map((f) => `#${f.id} ${f.message}`).join('; ')}` : ''}`,
      result.failed.length ? 'error' : 'ok',
    );
  } catch (err) {
    sayError(err);
  }
}

document.addEventListener('keydown', (e) => {
  if (
    /** @type {Element} */ (e.target).closest('input, select, textarea, dialog') ||
    e.ctrlKey ||
    e.metaKey ||
    e.altKey
  )
    return;
  const keys = {
    j: () => move(1),
    ArrowDown: () => move(1),
    k: () => move(-1),
    ArrowUp: () => move(-1),
    x: () => rows[current] && toggle(rows[current].id),
    a: () => act('accept'),
    c: () => act('correct'),
    e: () => act('estimate'),
    r: () => act('reread'),
    m: () => act('claim'),
  };
  const fn = keys[e.key];
  if (fn) {
    e.preventDefault();
    fn();
  }
});

function move(by) {
  if (!rows.length) return;
  current = Math.max(0, Math.min(rows.length - 1, current + by));
  render();
  showDetail(rows[current]);
}

$('filters').addEventListener('submit', (e) => {
  e.preventDefault();
  offset = 0;
  current = 0;
  selected.clear();
  load();
});
$('select-all').addEventListener('change', (e) => {
  const all = /** @type {HTMLInputElement} */ (e.target).checked;
  for (const x of rows)
    if (all && x.status === 'open') selected.add(x.id);
    else selected.delete(x.id);
  render();
});
$('prev').addEventListener('click', () => {
  offset = Math.max(0, offset - PAGE);
  current = 0;
  load();
});
$('next').addEventListener('click', () => {
  offset += PAGE;
  current = 0;
  load();
});
$('bulk-accept').addEventListener('click', () => bulk('accept'));
$('bulk-estimate').addEventListener('click', () => bulk('estimate'));
await load();
ready();
