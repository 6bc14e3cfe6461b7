// A peer server for the benchmarks: a Node `ws` echo server (bench/README.md).
// Every message comes back as it came (text stays text, binary stays binary),
// on any path; the subprotocol switchyard.echo.v1 is accepted when offered.
//
//   node bench/peers/ws-echo.mjs [--port N]    prints "listening PORT"
//
// `ws` comes from bench/node_modules (npm ci in bench/, pinned in
// bench/package-lock.json). permessage-deflate is off, as it is in ws's
// server by default and in Switchyard; maxPayload stays ws's 100 MiB.

import { WebSocketServer } from 'ws';

const PROTOCOL = 'switchyard.echo.v1';

function option (name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

const server = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(option('port', '0')),
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has(PROTOCOL) ? PROTOCOL : false),
});

server.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.on('error', () => socket.terminate());
});

server.on('listening', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});

server.on('error', (error) => {
  process.stderr.write(`ws-echo: ${error.message}\n`);
  process.exit(1);
});

function quit () {
  for (const socket of server.clients)
    socket.terminate();
  server.close(() => process.exit(0));
}

process.on('SIGTERM', quit);
process.on('SIGINT', quit);
