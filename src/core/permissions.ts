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
