// One TCP port for every protocol: each connection's first bytes decide whether it goes to
// the HTTP/2 server (the h2c preface, used by gRPC) or the HTTP/1.1 server.
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const IDLE_MS = 120_000;
/** A connection must say which protocol it speaks within this time. */
const SNIFF_MS = 10_000;

type Handler = (req: never, res: never) => void;

export interface Listener {
  listen(port: number, host: string): Promise<number>;
  /**
   * Stops accepting, lets in-flight requests finish, then closes what is left. A connection
   * accepted before the stop that has not yet sent a whole first request head counts as in
   * flight too: its client is about to send a request (a large body still being serialized, say,
   * or headers arriving in pieces).
   */
  close(graceMs: number, inFlight: () => number): Promise<void>;
}

export function createListener(handler: Handler): Listener {
  const h1 = http.createServer({ keepAliveTimeout: 65_000, headersTimeout: 30_000, requestTimeout: 120_000 }, handler as http.RequestListener);
  // A silent socket is dropped after two minutes (slow clients must not pin connections).
  h1.setTimeout(IDLE_MS);
  // maxSessionMemory (MB): room for one 10 MiB message plus framing, so an oversized gRPC
  // message is refused by the 10 MiB read cap (RESOURCE_EXHAUSTED) rather than by nghttp2
  // tearing down the whole connection.
  const h2 = http2.createServer({ maxSessionMemory: 64 }, handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.setTimeout(IDLE_MS, () => s.close());
    s.once("close", () => sessions.delete(s));
  });
  const sockets = new Set<net.Socket>();
  /**
   * Accepted, and no request handled yet: the protocol is not known, or an HTTP/1.1 request head
   * is not complete. (HTTP/2 sessions are closed gracefully: their open streams finish.)
   */
  const beforeFirstRequest = new Set<net.Socket>();
  h1.on("request", (req: http.IncomingMessage) => beforeFirstRequest.delete(req.socket as net.Socket));

  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    beforeFirstRequest.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      beforeFirstRequest.delete(socket);
    });
    socket.on("error", () => socket.destroy());
    sniff(socket, (isH2) => {
      if (isH2) {
        beforeFirstRequest.delete(socket);
        h2.emit("connection", socket);
      } else {
        h1.emit("connection", socket);
        // The HTTP/1.1 parser waits for data events; our peek paused the socket.
        socket.resume();
      }
    });
  });

  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, host, () => resolve((tcp.address() as net.AddressInfo).port));
      }),
    close: async (graceMs, inFlight) => {
      const closed = new Promise<void>((r) => tcp.close(() => r()));
      h1.closeIdleConnections();
      for (const s of sessions) s.close();
      const deadline = Date.now() + graceMs;
      while ((inFlight() > 0 || beforeFirstRequest.size > 0) && Date.now() < deadline) {
        h1.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 25));
      }
      h1.closeAllConnections();
      for (const s of sessions) s.destroy();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

function sniff(socket: net.Socket, route: (isH2: boolean) => void): void {
  let seen = Buffer.alloc(0);
  socket.setTimeout(SNIFF_MS, () => socket.destroy());
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    const matches = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (matches && seen.length < PREFACE.length) return; // need more bytes to decide
    socket.off("data", onData);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(seen);
    route(matches);
  };
  socket.on("data", onData);
}
