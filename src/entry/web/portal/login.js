import { $, logIn, ready, say } from './portal.js';

const next = new URLSearchParams(location.search).get('next');
// Only a page of the portal: never on to another site after logging in.
const target = next && /^(index|authorize)\.html(\?[^#]*)?$/.test(next) ? next : 'index.html';

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  say('Logging in…');
  try {
    const r = await logIn($('username').value.trim(), $('password').value);
    if (r.user.role !== 'customer') {
      say(`You are logged in as ${r.user.username} (${r.user.role}): staff use the console at /console/.`, 'error');
      return;
    }
    location.href = target;
  } catch (err) {
    say(err.message, 'error');
    $('password').select();
  }
});
ready();
