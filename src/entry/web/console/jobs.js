import { $, ready, api, el, fillTable, say, sayError, shell, when } from './app.js';

// Jobs: what runs when, how the last run went (counts and errors), and a button to run one now.
await shell('jobs.html');
const counts = (c) =>
  c
    ? Object.entries(typeof c === 'string' ? JSON.parse(c) : c)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
    : '';

async function load() {
  try {
    const [jobs, runs] = await Promise.all([api('/jobs?limit=1000'), api('/jobs/runs?limit=25')]);
    fillTable(
      $('jobs').tBodies[0],
      jobs.items,
      (j) =>
        el(
          'tr',
          { 'data-job': j.name },
          el('td', {}, el('b', {}, j.name)),
          el('td', {}, j.description),
          el('td', {}, j.enabled ? el('code', { class: 'cron' }, j.cron) : el('span', { class: 'muted' }, 'off')),
          el('td', {}, when(j.nextRun)),
          el('td', {}, j.lastRun ? when(j.lastRun.started_at) : 'never'),
          el(
            'td',
            {},
            j.lastRun
              ? el(
                  'span',
                  {
                    class: `badge ${j.lastRun.status === 'ok' ? 'ok' : j.lastRun.status === 'failed' ? 'negative' : ''}`,
                  },
                  j.lastRun.status,
                )
              : '',
          ),
          el('td', {}, j.lastRun ? counts(j.lastRun.counts) : ''),
          el('td', {}, el('button', { type: 'button', onclick: () => run(j.name) }, 'Run now')),
        ),
      'No jobs.',
    );
    fillTable(
      $('runs').tBodies[0],
      runs.items,
      (r) =>
        el(
          'tr',
          {},
          el('td', {}, String(r.id)),
          el('td', {}, r.job),
          el('td', {}, r.trigger),
          el('td', {}, when(r.started_at)),
          el(
            'td',
            { class: 'num' },
            r.finished_at ? ((Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000).toFixed(1) : '…',
          ),
          el(
            'td',
            {},
            el(
              'span',
              { class: `badge ${r.status === 'ok' ? 'ok' : r.status === 'failed' ? 'negative' : ''}` },
              r.status,
            ),
          ),
          el('td', {}, counts(r.counts)),
          el('td', { class: 'error' }, r.error ?? ''),
        ),
      'No runs yet.',
    );
  } catch (err) {
    sayError(err);
  }
}

async function run(name) {
  say(`Running ${name}…`);
  try {
    const result = await api(`/jobs/${name}/run`, { method: 'POST' });
    say(
      `${name}: ${result.status ?? 'done'}${result.counts ? ` (${counts(result.counts)})` : ''}${result.error ? ` ${result.error}` : ''}`,
      result.status === 'failed' ? 'error' : 'ok',
    );
  } catch (err) {
    sayError(err);
  }
  await load();
}

await load();
setInterval(load, 30_000);
ready();
