import type { MahoCustomer } from '../../../generated/client/types.gen.js';
import type { User } from '../../core/users.js';

export function customer(u: User): MahoCustomer {
  return { id: u.id, email: u.email, firstName: u.firstName, lastName: u.lastName, createdAt: u.createdAt.toISOString() };
}
