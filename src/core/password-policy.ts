// Password strength for passwords people choose (registration, password change), after
// OWASP's guidance: a minimum length, a maximum to bound hashing work, no composition rules,
// and a refusal of the most common passwords and of the account's own identifiers.

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;

const COMMON = new Set([
  'password', 'password1', 'password123', '12345678', '123456789', '1234567890', 'qwertyui', 'qwerty123',
  '11111111', '00000000', 'iloveyou', 'letmein1', 'welcome1', 'admin123', 'abc12345', 'passw0rd',
  'sunshine', 'princess', 'football', 'baseball', 'trustno1', 'superman', 'starwars', 'changeme',
]);

/** Why `password` is too weak for an account with these identifiers, or undefined when it is fine. */
export function passwordWeakness(password: string, identifiers: string[]): string | undefined {
  const length = [...password].length; // characters, not UTF-16 units
  if (length < MIN_PASSWORD_LENGTH) return `Password must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (length > MAX_PASSWORD_LENGTH) return `Password must be at most ${MAX_PASSWORD_LENGTH} characters`;
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return 'Password is too common';
  for (const id of identifiers) {
    const value = id.toLowerCase();
    if (value && (lower === value || lower === value.split('@')[0])) return 'Password must not be the email or username';
  }
  return undefined;
}
