/** @type {(id: string) => any} */
const $ = (id) => document.getElementById(id);
const next = new URLSearchParams(location.search).get('next');
// Only a page of this console: never send someone on to another site after logging in.
const target = next && /^[a-z-]+\.html(\?[^#]*)?$/.test(next) ? next : 'routes.html';

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const status = $('status');
  status.className = '';
  status.textContent = 'Logging in…';
  try {
    const res = await fetch('/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify({ username: $('username').value.trim(), password: $('password').value }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(body?.error?.message ?? `the gateway answered ${res.status}`);
    if (body.user.role !== 'csr' && body.user.role !== 'admin') {
      status.className = 'error';
      status.textContent = `You are logged in as ${body.user.username} (${body.user.role}). The console is for CSRs; use the field app.`;
      return;
    }
    location.href = target;
  } catch (err) {
    status.className = 'error';
    status.textContent = err.message;
    $('password').select();
  }
});
document.body.dataset.ready = 'true';
