// Runs examples/relay-switch.mjs, the browser snippet's module, under Node's
// standard WebSocket (node --experimental-websocket), as a page would.
//   node --experimental-websocket run_relay_switch.mjs PAGE-URL RELAY on|off
// Prints the confirmed relay as JSON, or "refused: …" and exits 1.
import { switchRelay, wsUrlFromPage } from '../../examples/relay-switch.mjs';

const [pageUrl, relay, state] = process.argv.slice(2);
try {
  const confirmed = await switchRelay(wsUrlFromPage(pageUrl), relay, state === 'on');
  console.log(JSON.stringify(confirmed));
} catch (error) {
  console.log(`refused: ${error.message}`);
  process.exitCode = 1;
}
