// The user model and its rules, shared by every dialect.

export const ROLES = ['admin', 'moderator', 'user'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: number;
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  gender: string;
  image: string;
  phone: string | null;
  /** ISO date (YYYY-MM-DD) or null. */
  birthDate: string | null;
  role: Role;
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** A user row together with its password hash: only the login path ever sees this. */
export interface UserWithSecret extends User {
  passwordHash: string;
}

export interface NewUser {
  username: string;
  email: string;
  passwordHash: string;
  firstName?: string;
  lastName?: string;
  gender?: string;
  image?: string;
  phone?: string | null;
  birthDate?: string | null;
  role?: Role;
}

/** Usernames and emails compare case-insensitively everywhere, as the unique indexes do. */
export function normalizeLogin(login: string): string {
  return login.trim().toLowerCase();
}

/** Which identifiers a dialect accepts as the login string besides the username. */
export interface LoginIdentifiers {
  email: boolean;
  phone: boolean;
}

export const USERNAME_ONLY: LoginIdentifiers = { email: false, phone: false };
