// The simulated outside world's HTTP server: answers every request with the caller's
// address, so tests can tell NAT (the uplink's address) from routing (the sandbox's).
import http from "node:http";

const port = Number(process.argv[2] ?? 8080);
const host = process.argv[3] ?? "0.0.0.0";
http
  .createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain", connection: "close" });
    res.end(`${req.socket.remoteAddress}\n`);
  })
  .listen(port, host, () => console.log(`world server on ${host}:${port}`));
