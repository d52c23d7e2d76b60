// The demo data set for the embedded default: DummyJSON's best-known users first (emilys is
// id 1), then generated ones. Every demo password is `<username>pass`, as on dummyjson.com.
// Demo data only: SEED_DEMO is off by default on a PostgreSQL server.
import type { Clock } from './clock.js';
import type { PasswordHasher } from './passwords.js';
import type { ServicePrincipals } from './service-principals.js';
import type { NewUser, Role } from './users.js';

export interface DemoUser extends Omit<NewUser, 'passwordHash'> {
  password: string;
}

const FIXED: Array<[string, string, string, string, string, string, Role]> = [
  // username, first, last, gender, phone, birthDate, role
  ['emilys', 'Emily', 'Johnson', 'female', '+81 965-431-3024', '1996-05-30', 'admin'],
  ['michaelw', 'Michael', 'Williams', 'male', '+49 258-627-6644', '1989-08-10', 'admin'],
  ['sophiab', 'Sophia', 'Brown', 'female', '+81 210-652-2785', '1982-11-06', 'moderator'],
  ['jamesd', 'James', 'Davis', 'male', '+49 614-958-9364', '1994-06-12', 'moderator'],
  ['emmaj', 'Emma', 'Miller', 'female', '+91 759-776-1614', '1998-03-04', 'user'],
];

const FIRST = ['Olivia', 'Alexander', 'Ava', 'Ethan', 'Isabella', 'Liam', 'Mia', 'Noah', 'Charlotte', 'Lucas', 'Amelia', 'Mason', 'Harper', 'Logan', 'Evelyn', 'Elijah', 'Abigail', 'Oliver', 'Ella', 'Benjamin', 'Scarlett', 'Henry', 'Grace', 'Samuel', 'Chloe'];
const LAST = ['Wilson', 'Jones', 'Taylor', 'Martinez', 'Anderson', 'Thomas', 'Moore', 'Jackson', 'White', 'Harris', 'Martin', 'Thompson', 'Garcia', 'Clark', 'Lewis', 'Robinson', 'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Green', 'Baker', 'Adams'];
const FEMALE = new Set(['Olivia', 'Ava', 'Isabella', 'Mia', 'Charlotte', 'Amelia', 'Harper', 'Evelyn', 'Abigail', 'Ella', 'Scarlett', 'Grace', 'Chloe']);

function person(username: string, first: string, last: string, gender: string, phone: string, birthDate: string, role: Role): DemoUser {
  return {
    username,
    password: `${username}pass`,
    email: `${first}.${last}@x.dummyjson.com`.toLowerCase(),
    firstName: first,
    lastName: last,
    gender,
    image: `https://dummyjson.com/icon/${username}/128`,
    phone,
    birthDate,
    role,
  };
}

/** 30 users, deterministic: the same set on every machine. */
export function demoUsers(): DemoUser[] {
  const users = FIXED.map((f) => person(...f));
  FIRST.forEach((first, i) => {
    const last = LAST[i]!;
    const phone = `+1 555-01${String(i + 10).padStart(2, '0')}`;
    const birthDate = `${1970 + ((i * 7) % 35)}-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 27) + 1).padStart(2, '0')}`;
    users.push(person(`${first}${last[0]}`.toLowerCase(), first, last, FEMALE.has(first) ? 'female' : 'male', phone, birthDate, i % 10 === 0 ? 'moderator' : 'user'));
  });
  return users;
}

export interface DemoSeedTarget {
  count(): Promise<number>;
  /** Inserts the users in order, in one transaction, only if there are no users yet. */
  insertIfEmpty(users: NewUser[], at: Date): Promise<boolean>;
}

/** Seeds the demo users into an empty database; returns whether it did. */
export async function seedDemoUsers(target: DemoSeedTarget, hasher: PasswordHasher, clock: Clock): Promise<boolean> {
  // Thirty argon2id hashes cost about a third of a second of both cores: a start on a database
  // that has users (every restart, every `gatehouse` command) skips them. insertIfEmpty still
  // decides, for two processes starting on one empty database.
  if ((await target.count()) > 0) return false;
  const users = await Promise.all(
    demoUsers().map(async ({ password, ...u }) => ({ ...u, passwordHash: await hasher.hash(password) })),
  );
  return target.insertIfEmpty(users, new Date(clock.now()));
}

/**
 * The demo service principals, seeded together with the demo users: API client
 * `demo-client` / `demo-client-secret` with permission `all` and every OAuth grant, and API user `demo-api` /
 * `demo-api-key` with `customers/read`. Demo data only, like the users' passwords.
 */
export async function seedDemoServicePrincipals(principals: ServicePrincipals): Promise<void> {
  await principals.create('api_client', {
    name: 'demo-client',
    secret: 'demo-client-secret',
    permissions: ['all'],
    grantTypes: ['client_credentials', 'password', 'refresh_token'],
  });
  await principals.create('api_user', { name: 'demo-api', secret: 'demo-api-key', permissions: ['customers/read'] });
}
