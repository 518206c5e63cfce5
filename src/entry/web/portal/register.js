import { $, api, logIn, ready, say } from './portal.js';

const given = new URLSearchParams(location.search).get('account');
if (given) $('account').value = given;

$('register').addEventListener('submit', async (e) => {
  e.preventDefault();
  say('Registering…');
  const username = $('username').value.trim().toLowerCase();
  try {
    await api('/portal/register', {
      method: 'POST',
      body: {
        accountNo: $('account').value.trim(),
        code: $('code').value.trim(),
        username,
        password: $('password').value,
        ...($('name').value.trim() ? { displayName: $('name').value.trim() } : {}),
      },
    });
    await logIn(username, $('password').value);
    location.href = 'index.html';
  } catch (err) {
    say(err.message, 'error');
  }
});
ready();
