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

/** Every permission that means something here: what OAuth discovery lists as scopes. */
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
