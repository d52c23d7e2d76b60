import type { Request, Response, Router } from 'express';
import type { Config } from '../config.js';
import type { SessionPolicy } from '../core/sessions.js';
import type { Services } from '../services.js';
import type { RequestFailure } from './http-errors.js';

/** One auth API served by Gatehouse: its routes, and how its errors look on the wire. */
export interface Dialect {
  readonly name: string;
  /** Path prefixes the dialect owns; any error under them, 404 and 405 included, is rendered by it. */
  readonly prefixes: readonly string[];
  /** The policy of the sessions and tokens the dialect issues (each has its own audience). */
  policy(config: Config): SessionPolicy;
  router(services: Services): Router;
  /** Writes the response for a failure raised while serving one of the dialect's paths. */
  renderError(failure: RequestFailure, req: Request, res: Response, services: Services): void;
}

/** Whether `path` is `prefix` or lies below it (`/auth` owns `/auth/me`, not `/authors`). Runs on every request: no allocation. */
export function ownsPath(prefix: string, path: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || prefix.endsWith('/') || path.charCodeAt(prefix.length) === 0x2f; // '/'
}

/** `build` memoized per configuration: for things every request needs, like a session policy. */
export function perConfig<T>(build: (config: Config) => T): (config: Config) => T {
  const built = new WeakMap<Config, T>();
  return (config) => {
    let value = built.get(config);
    if (value === undefined) built.set(config, (value = build(config)));
    return value;
  };
}
