import { $, logIn, ready, say } from './portal.js';

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  say('Logging in…');
  try {
    const r = await logIn($('username').value.trim(), $('password').value);
    if (r.user.role !== 'customer') {
      say(`You are logged in as ${r.user.username} (${r.user.role}): staff use the console at /console/.`, 'error');
      return;
    }
    location.href = 'index.html';
  } catch (err) {
    say(err.message, 'error');
    $('password').select();
  }
});
ready();
