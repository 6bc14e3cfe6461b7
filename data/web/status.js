// Placeholder page logic: shows /api/status and checks the echo subprotocol.
'use strict';

function show(id, text) {
  document.getElementById(id).textContent = text;
}

const token = new URLSearchParams(window.location.search).get('token');

async function refreshStatus() {
  try {
    const response = await fetch(token ? `api/status?token=${encodeURIComponent(token)}` : 'api/status',
                                 { cache: 'no-store' });
    if (!response.ok)
      throw new Error(`${response.status} ${await response.text()}`);
    const status = await response.json();
    show('server', `${status.name} ${status.version}, up ${Math.round(status.uptime)} s`);
    show('connections', String(status.connections));
    show('subprotocols', status.subprotocols.join(', '));
  } catch (error) {
    show('server', `unreachable (${error.message})`);
  }
}

function checkEcho() {
  const url = new URL('ws', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (token)
    url.searchParams.set('token', token);

  const socket = new WebSocket(url, 'switchyard.echo.v1');
  let sentAt = 0;
  socket.addEventListener('open', () => {
    sentAt = performance.now();
    socket.send('ping');
  });
  socket.addEventListener('message', () => {
    show('echo', `${(performance.now() - sentAt).toFixed(2)} ms`);
    socket.close(1000, 'done');
  });
  socket.addEventListener('error', () => show('echo', 'failed'));
}

refreshStatus();
setInterval(refreshStatus, 2000);
checkEcho();
