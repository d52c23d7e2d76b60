// Failures of administrative operations (the admin command line, key rotation). They never
// reach a dialect: the command line prints the message and exits 1.

export const AdminErrorCode = {
  /** The user, client, session or key named does not exist. */
  NotFound: 'not_found',
  /** The operation contradicts the current state (taken name, pending rotation, signing key...). */
  Conflict: 'conflict',
  /** A value the operation cannot accept (a bad permission, email or delay). */
  InvalidInput: 'invalid_input',
} as const;

export type AdminErrorCode = (typeof AdminErrorCode)[keyof typeof AdminErrorCode];

export class AdminError extends Error {
  override readonly name = 'AdminError';
  constructor(
    readonly code: AdminErrorCode,
    message: string,
  ) {
    super(message);
  }
}
