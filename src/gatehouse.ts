// One Gatehouse instance: services, app and HTTP server, started and stopped together.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import type { Config } from './config.js';
import type { Clock } from './core/clock.js';
import { createLogger } from './http/logging.js';
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
  const services = await createServices(config, { clock: opts.clock });
  let draining = false;
  const app = createApp(services, logger, { isDraining: () => draining });
  const server = createServer((req, res) => {
    if (draining) res.setHeader('Connection', 'close');
    app(req, res);
  });
  // Slow clients cannot hold a connection forever (slowloris).
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    services,
    server,
    logger,
    url: `http://${host}:${port}`,
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
