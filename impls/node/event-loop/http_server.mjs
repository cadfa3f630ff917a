// http_server: node:http on the one event loop, the plaintext response of TechEmpower.

import http from "node:http";

const HELLO = Buffer.from("Hello, World!");
const NOT_FOUND = Buffer.from("Not Found");
const PLAIN = { "Content-Type": "text/plain", "Content-Length": HELLO.length, Server: "cmbench-node" };
const MISSING = { "Content-Type": "text/plain", "Content-Length": NOT_FOUND.length, Server: "cmbench-node" };

function handle(req, res) {
  // node:http writes the Date header itself (res.sendDate), from a cache refreshed every second.
  if (req.url === "/plaintext" || req.url.startsWith("/plaintext?")) {
    res.writeHead(200, PLAIN);
    res.end(HELLO);
  } else {
    res.writeHead(404, MISSING);
    res.end(NOT_FOUND);
  }
}

export async function serve(port) {
  const server = http.createServer({ noDelay: true, requireHostHeader: false }, handle);
  // Keep-alive connections stay open until the client closes them, however long they idle:
  // node:http's default keepAliveTimeout (5 s) would close an idle connection behind a client
  // that holds it (the idle phase holds hundreds), and the spec says persistent. 0 disables it.
  server.keepAliveTimeout = 0;
  // The head of a request, once its first byte arrived, must be complete within 10 s (a slow or
  // stuck client still cannot hold a request open forever); it does not apply to idle time
  // between requests. requestTimeout (the default 300 s) covers the whole request.
  server.headersTimeout = 10_000;
  const connections = new Set();
  server.on("connection", (socket) => {
    connections.add(socket);
    socket.on("close", () => connections.delete(socket));
  });
  server.listen({ host: "127.0.0.1", port, backlog: 1024 });
  await new Promise((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  process.stdout.write(`{"ready": true, "port": ${server.address().port}}\n`);
  const stop = () => {
    server.close();
    for (const socket of connections) socket.destroy();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
