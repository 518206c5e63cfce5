import { $, api, el, leaveFor, ready, say, session } from './portal.js';

// A third party sent the customer here (GET /oauth/authorize): they choose the account to share,
// or deny; either way the browser goes back to the third party with the answer.
const query = new URLSearchParams(location.search);
const params = Object.fromEntries(
  ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method']
    .filter((k) => query.has(k))
    .map((k) => [k, query.get(k)]),
);
const me = await session();
if (!me || me.user.role !== 'customer')
  await leaveFor(`login.html?next=${encodeURIComponent(`authorize.html${location.search}`)}`);
$('who').textContent = me.user.displayName ?? me.user.username;

/** An ESPI scope in words: FB=…;IntervalDuration=3600;HistoryLength=34128000 is hourly usage, 395 days back. */
function plainScope(scope) {
  const parts = Object.fromEntries(scope.split(';').map((p) => p.split('=')));
  const every = Number(parts.IntervalDuration);
  const words = [
    every
      ? `usage every ${every === 3600 ? 'hour' : every > 3600 ? `${every / 3600} hours` : `${every / 60} minutes`}`
      : 'usage',
    parts.HistoryLength ? `up to ${Math.round(Number(parts.HistoryLength) / 86_400)} days back` : null,
  ].filter(Boolean);
  return `${words.join(', ')} (${scope})`;
}

async function answer(allowed) {
  say(allowed ? 'Sharing…' : 'Declining…');
  try {
    const r = await api('/portal/oauth/authorize', {
      method: 'POST',
      body: { ...params, accountNo: $('account').value, allowed },
    });
    location.href = r.redirect;
  } catch (err) {
    say(err.message, 'error');
  }
}

try {
  const request = await api(`/portal/oauth/request?${new URLSearchParams(params)}`);
  const profile = await api('/portal/me');
  $('client').textContent = request.name;
  $('scope').textContent = request.scope.map(plainScope).join('; ');
  if (request.outside.length)
    say(`${request.name} asks for more than it is registered for: ${request.outside.join(', ')}.`, 'error');
  $('account').replaceChildren(...profile.accounts.map((a) => el('option', { value: a }, a)));
  $('grant').hidden = profile.accounts.length === 0;
  if (profile.accounts.length === 0)
    say('No account is registered to you yet: register one with the code on your bill.', 'error');
  $('grant').addEventListener('submit', (e) => {
    e.preventDefault();
    answer(true);
  });
  $('deny').addEventListener('click', () => answer(false));
} catch (err) {
  say(err.message, 'error');
}
ready();
