// One Gatehouse instance: services, app and HTTP server, started and stopped together.
import { createServer, STATUS_CODES, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import { httpUrl, type Config } from './config.js';
import type { Clock } from './core/clock.js';
import { auditLog, createLogger } from './http/logging.js';
import { toOriginForm } from './http/request-target.js';
import { createServices, type Services } from './services.js';

export interface Gatehouse {
  services: Services;
  server: Server;
  logger: Logger;
  /** Base URL the server listens on, e.g. http://127.0.0.1:3000 */
  url: string;
  /** From now on every answer carries Connection: close, so clients stop reusing connections. */
  drain(): void;
  /** Stops accepting, lets in-flight requests finish, then closes the database. */
  close(): Promise<void>;
}

export async function startGatehouse(config: Config, opts: { clock?: Clock; logger?: Logger } = {}): Promise<Gatehouse> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  let draining = false;
  // Without PUBLIC_URL the issuer of every token (and of the OAuth metadata) is this server's
  // own address, and with PORT=0 its port is known only once it listens. Then, and only then,
  // the server listens before the services are built, from the configuration with that URL in
  // it (so everything still reads one plain, fixed `config.publicUrl`: no global, nothing in
  // core made lazy); requests that arrive in between wait for the app. Otherwise it listens
  // once it can answer, so that a port that accepts connections is a server that is ready.
  const portDecidesUrl = !config.publicUrlFromEnv && config.port === 0;
  let app: RequestListener | undefined;
  const early: Array<() => void> = [];
  // 128 KiB of headers rather than Node's 16: a 100 KB token must reach the dialect, to be
  // refused in its own format, instead of being cut off by the HTTP parser.
  // Slow clients cannot hold a connection forever (slowloris): a request whose headers, or
  // whole body, take longer than configured gets a 408 and its connection is closed. Node
  // looks for such connections only every connectionsCheckingInterval (30 s by default, which
  // would let a 10 s limit run to 40 s), so it looks every second, or more often for tighter limits.
  const server = createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, Math.ceil(config.headersTimeoutMs / 4)),
      keepAliveTimeout: 5_000,
    },
    (req, res) => {
      if (!toOriginForm(req)) return answerBadTarget(res);
      if (draining) res.setHeader('Connection', 'close');
      if (app) app(req, res);
      else early.push(() => app!(req, res));
    },
  );
  server.on('clientError', answerUnparsable);
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // A deeper accept queue than Node's 511 (the kernel caps it at net.core.somaxconn): a
      // burst of new connections beyond the queue has its SYNs dropped, and each waits a full
      // second for the retransmit.
      server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, () => resolve());
    });
  if (portDecidesUrl) await listen();
  let services: Services;
  try {
    const publicUrl = portDecidesUrl ? httpUrl(config.host, (server.address() as AddressInfo).port) : config.publicUrl;
    services = await createServices({ ...config, publicUrl }, { clock: opts.clock, audit: auditLog(logger) });
  } catch (err) {
    if (server.listening) {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    }
    throw err;
  }
  if (config.production && !config.keyEncryptionKey) {
    logger.warn('the private signing keys are stored unencrypted in the database: set KEY_ENCRYPTION_KEY (README, Deploying)');
  }
  const express = createApp(services, logger, { isDraining: () => draining });
  if (trustsAnyAddress(config.trustProxy, express.get('trust proxy fn'))) {
    // Express then takes the left-most X-Forwarded-For entry. A balancer that appends to the
    // header (most do) leaves in front whatever the client sent, so the client picks the
    // address every per-IP limit and COCART_BIND_IP sees.
    logger.warn(
      `TRUST_PROXY=${String(config.trustProxy)} trusts a proxy at any address, so each client address is the left-most X-Forwarded-For entry, which the client writes unless every proxy replaces the header: set the number of proxies in front (e.g. 1) or their addresses (README, Deploying)`,
    );
  }
  app = express;
  for (const answer of early.splice(0)) answer();
  if (!portDecidesUrl) {
    try {
      await listen();
    } catch (err) {
      await services.close(); // the port is taken: nothing of this instance stays open
      throw err;
    }
  }
  const { address, port } = server.address() as AddressInfo;
  return {
    services,
    server,
    logger,
    url: httpUrl(address, port),
    drain() {
      draining = true;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await services.close();
    },
  };
}

const MAX_HEADER_BYTES = 128 * 1024;
const LISTEN_BACKLOG = 4096;

/**
 * A request the HTTP parser refused (headers over MAX_HEADER_BYTES, a malformed request line,
 * a header timeout) never reaches Express, and its path is unknown: answer it with a JSON
 * error rather than Node's bare status line, then close the connection.
 */
function answerUnparsable(err: NodeJS.ErrnoException, socket: Duplex): void {
  // As Node's own handler: never write into a connection the client reset, or one whose
  // current response has started (that would corrupt it); just drop those.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) return void socket.destroy();
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const { headers, body } = transportError(status);
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join('')}\r\n${body}`);
}

/** A request target that is neither a path nor an http(s) URL with a host: 400, as an unparsable request. */
function answerBadTarget(res: ServerResponse): void {
  const { headers, body } = transportError(400);
  res.writeHead(400, headers).end(body);
}

/** The answer to a request refused before any dialect could read it: {message}, and the connection closed. */
function transportError(status: number): { headers: Record<string, string>; body: string } {
  const body = JSON.stringify({ message: STATUS_CODES[status] });
  return {
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      'Cache-Control': 'no-store',
      Connection: 'close',
    },
    body,
  };
}

/**
 * Whether TRUST_PROXY (as Express compiled it) trusts a proxy whatever its address: `true`, or
 * a list with a range such as 0.0.0.0/0 or ::/0, judged by two documentation addresses no real
 * list names. A hop count is left alone: it trusts the right number of proxies, or cannot be told.
 */
function trustsAnyAddress(setting: Config['trustProxy'], trust: (address: string, hop: number) => boolean): boolean {
  if (setting === false || typeof setting === 'number') return false;
  return trust('192.0.2.1', 0) || trust('2001:db8::1', 0);
}
