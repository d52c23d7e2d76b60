// `gatehouse/client`: the generated SDK bound to one server. Every operation of the document
// is a method, typed from the document (request, answer, and each dialect's error body);
// optionally each answer is checked against the generated zod schemas. Everything here wraps
// generated/client: new operations appear without a change to this file.
import { createClient, createConfig, type Client } from '../../generated/client/client/index.js';
import * as sdk from '../../generated/client/sdk.gen.js';
import { responseSchemas } from '../../generated/response-schemas.gen.js';

export type * from '../../generated/client/types.gen.js';
export * as schemas from '../../generated/client/zod.gen.js';
export { responseSchemas };

export interface GatehouseClientOptions {
  /** Where Gatehouse (or its Prism mock) answers, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** An access token, or a function giving the current one, sent as `Authorization: Bearer …` to operations that take one. */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** Check every answer's status and body against the contract; a mismatch throws a GatehouseContractError. */
  validateResponses?: boolean;
  /** Headers for every request (per-call `headers` add to them). */
  headers?: Record<string, string>;
  /** Browsers: `include` sends Gatehouse's cookies cross-origin. */
  credentials?: RequestCredentials;
  fetch?: typeof globalThis.fetch;
}

type Operations = typeof sdk;
type CallOptions<O> = Omit<NonNullable<O>, 'client' | 'throwOnError' | 'responseStyle'>;
// hey-api's functions are generic in ThrowOnError; a mapped type sees its constraint (boolean), so
// the non-throwing result is rebuilt from the success body and the error body it carries.
type DataOf<R> = R extends { error: unknown } ? never : R extends { data: infer D } ? D : never;
type ErrorOf<R> = R extends { error: infer E } ? E : never;
export type GatehouseResult<R> = ({ data: DataOf<R>; error: undefined } | { data: undefined; error: ErrorOf<R> }) & {
  request: Request;
  response: Response;
};
type Bound<F> = F extends (...args: infer A) => Promise<infer R>
  ? (
      ...args: A extends [options: infer O] ? [options: CallOptions<O>] : A extends [options?: infer O] ? [options?: CallOptions<O>] : never
    ) => Promise<GatehouseResult<R>>
  : never;

export type GatehouseClient = { readonly [K in keyof Operations]: Bound<Operations[K]> } & {
  /** The underlying hey-api client (interceptors, config). */
  readonly client: Client;
};

/** An answer that the contract does not allow: an undocumented status, or a body its schema refuses. */
export class GatehouseContractError extends Error {
  override readonly name = 'GatehouseContractError';
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly issues: string,
  ) {
    super(`${operation} answered ${status}, which the contract does not allow: ${issues}`);
  }
}

type OperationName = keyof typeof responseSchemas;
type Schema = { safeParse(body: unknown): { success: true } | { success: false; error: { message: string } } };

function checkAnswer(operation: OperationName, response: Response, body: unknown): void {
  const documented = responseSchemas[operation] as Record<number, Schema | null>;
  if (!(response.status in documented)) throw new GatehouseContractError(operation, response.status, 'no such status is documented');
  const schema = documented[response.status];
  if (!schema) return; // documented without a body
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new GatehouseContractError(operation, response.status, parsed.error.message);
}

export function createGatehouseClient(options: GatehouseClientOptions): GatehouseClient {
  const { token } = options;
  const client = createClient(
    createConfig({
      baseUrl: options.baseUrl,
      // Only what was given: an explicit undefined would replace hey-api's defaults.
      ...(options.headers && { headers: options.headers }),
      ...(options.credentials && { credentials: options.credentials }),
      ...(options.fetch && { fetch: options.fetch }),
      // Only bearer schemes: Basic (CoCart login) and the cookie scheme are the caller's business.
      auth: (scheme) => (scheme.scheme === 'bearer' ? (typeof token === 'function' ? token() : token) : undefined),
    }),
  );
  const bound: Record<string, unknown> = { client };
  for (const [name, operation] of Object.entries(sdk) as [OperationName, (o: object) => Promise<{ data?: unknown; error?: unknown; response: Response }>][]) {
    if (typeof operation !== 'function') continue;
    bound[name] = async (callOptions: object = {}) => {
      const result = await operation({ ...callOptions, client, throwOnError: false, responseStyle: 'fields' });
      if (options.validateResponses) checkAnswer(name, result.response, result.error ?? result.data);
      return result;
    };
  }
  return bound as GatehouseClient;
}
