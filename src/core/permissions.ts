// Permissions of service principals: `<resource>/<action>`, `<resource>/all`, or `all`.
// Always read from the store on each request, never trusted from a token.

export const ACTIONS = ['read', 'create', 'write', 'delete'] as const;
export type Action = (typeof ACTIONS)[number];

const PERMISSION = /^(all|[a-z][a-z0-9_-]{0,63}\/(read|create|write|delete|all))$/;

export function isPermission(value: string): boolean {
  return PERMISSION.test(value);
}

/** Whether `permissions` allow `action` on `resource`. */
export function allows(permissions: readonly string[], resource: string, action: Action): boolean {
  return permissions.some((p) => p === 'all' || p === `${resource}/all` || p === `${resource}/${action}`);
}

/** The resources Gatehouse itself guards with permissions (Maho's customers resource). */
export const RESOURCES = ['customers'] as const;

/** The permissions of the resources Gatehouse guards: what OAuth discovery lists as scopes. */
export function knownPermissions(): string[] {
  return ['all', ...RESOURCES.flatMap((r) => [...ACTIONS, 'all'].map((a) => `${r}/${a}`))];
}

/**
 * Whether holding `permissions` covers `wanted` (a permission used as an OAuth scope): a
 * client may ask for its own permissions or anything narrower, never more.
 */
export function covers(permissions: readonly string[], wanted: string): boolean {
  if (!isPermission(wanted)) return false;
  if (permissions.includes('all')) return true;
  if (wanted === 'all') return false;
  const [resource, action] = wanted.split('/') as [string, string];
  if (action === 'all') return permissions.includes(wanted);
  return allows(permissions, resource, action as Action);
}

/**
 * Whether a client holding `permissions` may ask for `wanted` as an OAuth scope: one it holds or
 * narrower, on a resource Gatehouse guards or one its own permissions name (a resource server's
 * `orders/read`, read by introspection). `all` names no resource, so on its own it reaches only
 * the guarded ones: it already covers any other, and a scope nobody defined is more likely a typo.
 */
export function requestable(permissions: readonly string[], wanted: string): boolean {
  if (!covers(permissions, wanted)) return false;
  if (wanted === 'all') return true;
  const resource = wanted.split('/')[0]!;
  return (RESOURCES as readonly string[]).includes(resource) || permissions.some((p) => p.startsWith(`${resource}/`));
}
