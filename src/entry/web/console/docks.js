import { $, ready, api, ask, el, fillTable, num, say, sayError, shell, when } from './app.js';

// Docks, live over server-sent events: each port's link, the hand-held on it, its routes, and
// the transfer under way with its rate and time left. A lost link shows the moment it happens.
await shell('docks.html');
const ports = new Map();

const seconds = (s) =>
  s === null || s === undefined
    ? '—'
    : s < 90
      ? `${Math.round(s)} s`
      : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
const isLost = (p) => p.phase === 'reopening' || /\blost\b/.test(p.detail ?? '');

function card(p) {
  const t = p.transfer;
  const pct = t && t.bytesTotal ? Math.floor((t.bytesDone / t.bytesTotal) * 100) : 0;
  const lost = isLost(p);
  return el(
    'article',
    { class: 'card dock', 'data-port': p.name },
    el(
      'header',
      {},
      el('h2', {}, `${p.name}`, el('span', { class: 'muted' }, ` ${p.port}`)),
      el(
        'span',
        { class: `badge ${lost ? 'lost' : p.phase === 'docked' ? 'up' : ''}`, 'data-phase': p.phase },
        lost ? 'link lost' : p.phase,
      ),
    ),
    lost
      ? el('p', { class: 'error lost' }, p.detail || 'the link to the hand-held was lost')
      : el('p', { class: 'muted' }, p.detail || ''),
    p.device
      ? el(
          'dl',
          {},
          el('dt', {}, 'Device'),
          el('dd', {}, `${p.device.id}${p.device.model ? ` (${p.device.model})` : ''}`),
          el('dt', {}, 'Battery'),
          el('dd', {}, p.device.battery === null ? '—' : `${p.device.battery}%`),
          el('dt', {}, 'Docked'),
          el('dd', {}, when(p.device.dockedAt)),
          el('dt', {}, 'Routes'),
          el(
            'dd',
            {},
            p.routes.length
              ? p.routes.map((r) =>
                  el('span', { class: `badge ${r.state}` }, `${r.route} ${r.read}/${r.records} ${r.state}`),
                )
              : 'none',
          ),
        )
      : el('p', { class: 'muted' }, 'No hand-held docked.'),
    t
      ? el(
          'div',
          { class: 'transfer', 'data-direction': t.direction },
          el(
            'div',
            {},
            `${t.direction === 'load' ? 'Loading' : 'Unloading'} ${t.route}: `,
            el('b', { class: 'pct' }, `${pct}%`),
            ` · ${num(t.records)} of ${num(t.recordsTotal)} records`,
          ),
          el(
            'div',
            { class: `bar${pct >= 100 ? ' done' : ''}`, role: 'progressbar', 'aria-valuenow': pct },
            el('i', { style: { width: `${pct}%` } }),
          ),
          el('div', { class: 'muted' }, `${num(t.bytesPerSecond / 1024, 1)} KiB/s · ${seconds(t.secondsLeft)} left`),
        )
      : null,
    p.last
      ? el(
          'p',
          { class: 'last muted' },
          `${when(p.last.slice(0, p.last.indexOf(' ')))} ${p.last.slice(p.last.indexOf(' ') + 1)}`,
        )
      : null,
  );
}

function render() {
  const list = [...ports.values()];
  $('docks').replaceChildren(
    ...(list.length
      ? list.map(card)
      : [el('p', { class: 'muted' }, 'No dock ports are configured (dock.ports, or fieldgate start --dock).')]),
  );
}

function listen() {
  const events = new EventSource('/api/dock/events');
  events.addEventListener('status', (e) => {
    const status = JSON.parse(e.data);
    ports.set(status.name, status);
    render();
  });
  events.addEventListener('open', () => say('Live.', 'ok'));
  events.addEventListener('error', () => say('Lost the live feed from the gateway; reconnecting…', 'error'));
}

async function commands() {
  const { items } = await api('/dock/commands?limit=20');
  fillTable(
    $('commands').tBodies[0],
    items,
    (c) =>
      el(
        'tr',
        {},
        el('td', {}, when(c.created_at)),
        el('td', {}, c.device_id),
        el('td', {}, c.command),
        el('td', {}, c.route_code ?? ''),
        el('td', {}, el('span', { class: `badge ${c.status}` }, c.status)),
        el('td', {}, c.actor ?? ''),
        el('td', {}, [c.reason, c.detail].filter(Boolean).join(' · ')),
      ),
    'No commands yet.',
  );
}

async function fillChoices() {
  const [routes, devices] = await Promise.all([api('/routes?limit=1000'), api('/devices?limit=1000')]);
  $('cmd-route').replaceChildren(
    ...routes.items.map((r) => el('option', { value: r.route }, `${r.route} · ${r.state}`)),
  );
  $('cmd-device').replaceChildren(
    ...devices.items.map((d) =>
      el(
        'option',
        { value: d.device_id },
        `${d.device_id}${d.model === 'field app' ? " (a reader's phone)" : ''}${d.approved ? '' : ' (not approved)'}`,
      ),
    ),
  );
}

async function command(kind) {
  const route = $('cmd-route').value;
  const device = $('cmd-device').value;
  try {
    if (kind === 'assign') await api('/dock/assign', { method: 'POST', body: { route, device } });
    else {
      const reason = await ask(`${kind === 'reload' ? 'Re-load' : 'Clear'} route ${route}`, {
        label: 'Reason (kept with the route)',
      });
      if (!reason) return;
      await api(`/routes/${encodeURIComponent(route)}/${kind}`, {
        method: 'POST',
        body: kind === 'reload' ? { device, reason } : { reason },
      });
    }
    say(`${kind} of ${route} queued; it happens when the hand-held docks.`, 'ok');
    await commands();
  } catch (err) {
    sayError(err);
  }
}

$('assign').addEventListener('click', () => command('assign'));
$('reload').addEventListener('click', () => command('reload'));
$('clear').addEventListener('click', () => command('clear'));
try {
  const { items } = await api('/dock?limit=1000');
  for (const p of items) ports.set(p.name, p);
  render();
  listen();
  await Promise.all([fillChoices(), commands()]);
} catch (err) {
  sayError(err);
}
ready();
