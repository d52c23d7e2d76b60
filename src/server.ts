// `npm start`: read the configuration, open the database, listen, and say where things are.
import { ConfigError, loadConfig } from './config.js';
import { KeyEncryptionError } from './core/key-encryption.js';
import { startGatehouse } from './gatehouse.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  let gatehouse;
  try {
    gatehouse = await startGatehouse(config);
  } catch (err) {
    // Sealed signing keys this configuration cannot open: a configuration error too.
    if (err instanceof KeyEncryptionError) {
      process.stderr.write(`Invalid configuration:\n  ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const { url, logger, services } = gatehouse;
  const database =
    config.database.kind === 'pglite'
      ? `embedded PostgreSQL (PGlite) in ${config.database.dataDir}`
      : config.database.kind === 'pglite-memory'
        ? 'in-memory PGlite (nothing is kept)'
        : 'PostgreSQL server';
  const lines = [
    `Gatehouse listening on ${url}`,
    `  database:  ${database}`,
    `  docs:      ${url}/docs`,
    `  spec:      ${url}/openapi.json`,
    `  oauth:     ${url}/.well-known/oauth-authorization-server`,
    `  keys:      ${url}/.well-known/jwks.json`,
    `  health:    ${url}/healthz`,
  ];
  if (config.seedDemo) {
    lines.push(
      `  demo login: curl -s ${url}/auth/login -H 'Content-Type: application/json' -d '{"username":"emilys","password":"emilyspass"}'`,
      `  (demo users: every password is <username>pass${services.seeded ? '; seeded just now' : ''})`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    // A "lame duck" window first: requests already on their way (accepted connections not yet
    // parsed, or still in the listen backlog) are answered instead of reset, and every answer
    // says Connection: close. Then the listener closes and in-flight requests finish.
    logger.info({ signal, delayMs: config.shutdownDelayMs }, 'shutting down');
    gatehouse.drain();
    setTimeout(() => void close(), config.shutdownDelayMs);
  };
  const close = () =>
    gatehouse.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`Gatehouse failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
