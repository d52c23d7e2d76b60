import type { DummyjsonUser } from '../../../generated/client/types.gen.js';
import type { User } from '../../core/users.js';

/**
 * The original's public user fields, in its key order: the claims of its tokens, the tail of
 * its login answer, and the head of /auth/me.
 */
export function publicFields(u: User) {
  return {
    id: u.id,
    username: u.username,
    email: u.email,
    firstName: u.firstName,
    lastName: u.lastName,
    gender: u.gender,
    image: u.image,
  };
}

/** The /auth/me answer: never a password or any hash. */
export function profile(u: User): DummyjsonUser {
  return {
    ...publicFields(u),
    ...(u.phone !== null && { phone: u.phone }),
    ...(u.birthDate !== null && { birthDate: u.birthDate }),
    role: u.role,
  };
}
