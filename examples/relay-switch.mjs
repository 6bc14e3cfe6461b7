// relay-switch.mjs: switch one of Switchyard's relays from a web page.
//
// The standard WebSocket API only, so the same module runs in any browser
// (see relay-switch.html) and in Node 20 with --experimental-websocket
// (the test suite runs it that way).
//
//   import { switchRelay, wsUrlFromPage } from './relay-switch.mjs';
//   const relay = await switchRelay(wsUrlFromPage(controlUrl), 'lamp', true);
//   // relay.on === true: the device confirmed it

/**
 * The /ws endpoint of a page link such as the printed control-url:
 * http → ws, https → wss, the ?token= kept.
 */
export function wsUrlFromPage (pageUrl) {
  const url = new URL(pageUrl);
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.pathname = '/ws';
  }
  url.hash = '';
  return url.href;
}

/**
 * Sets relay `relayId` on or off. Resolves with the relay as the device
 * confirmed it (the ack), or rejects with the server's reason (a view token
 * cannot command: "forbidden"; an interlock; an unknown relay…).
 */
export function switchRelay (url, relayId, on, { timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'switchyard.relay.v1');
    const timer = setTimeout(() => finish(new Error('no answer in time')), timeoutMs);
    let done = false;

    function finish (error, relay) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ws.close(1000);
      if (error) reject(error); else resolve(relay);
    }

    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      // hello, then the snapshot: after it, command.
      if (msg.type === 'relays') {
        if (!msg.relays.some((r) => r.id === relayId)) {
          finish(new Error(`no relay "${relayId}" here`));
          return;
        }
        ws.send(JSON.stringify({ type: 'set', id: 1, relay: relayId, on }));
      } else if (msg.type === 'ack' && msg.id === 1) {
        finish(null, msg.relay);
      } else if (msg.type === 'error' && msg.id === 1) {
        finish(new Error(`${msg.code}: ${msg.message}`));
      }
    };
    ws.onerror = () => finish(new Error(`cannot connect to ${url}`));
    ws.onclose = (event) => finish(new Error(`closed with ${event.code} ${event.reason}`));
  });
}
