// How an administrator names a user or a service principal: by its name or by its id, in one
// argument. A reference that is one account's name and another's id is refused, not resolved
// either way: anyone may register the username "42", and an operator deactivating account 42
// or revoking its sessions must not act on that account instead.
import { AdminError, AdminErrorCode } from './admin-errors.js';

/**
 * Whether a reference can be a row id: users and service principals have INTEGER identity ids,
 * 1 to 2147483647 (a larger number would be refused by the database).
 */
export function isStoredId(ref: string): boolean {
  return /^\d{1,10}$/.test(ref) && Number(ref) >= 1 && Number(ref) <= 2_147_483_647;
}

/**
 * The one account `ref` names, given what it matched by name and by id; AdminError (conflict)
 * when those are two accounts. `noun` names the kind ("user", "API client"), `nameOf` its name.
 */
export function byNameOrId<T extends { id: number }>(
  ref: string,
  byName: T | undefined,
  byId: T | undefined,
  noun: string,
  nameOf: (account: T) => string,
): T | undefined {
  if (byName && byId && byName.id !== byId.id) {
    throw new AdminError(
      AdminErrorCode.Conflict,
      `${JSON.stringify(ref)} is the name of ${noun} ${byName.id} and the id of ${noun} ${byId.id} (${JSON.stringify(nameOf(byId))}): ` +
        `name ${noun} ${byName.id} by id, or ${noun} ${byId.id} by name`,
    );
  }
  return byName ?? byId;
}
