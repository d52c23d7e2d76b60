// Seeding the demo users: only into an empty database, and without hashing their passwords
// when there is nothing to seed (a restart, or a `gatehouse` command, on existing data).
import { describe, expect, it } from 'vitest';
import { systemClock } from '../src/core/clock.js';
import { demoUsers, seedDemoUsers, type DemoSeedTarget } from '../src/core/demo-users.js';
import { PasswordHasher } from '../src/core/passwords.js';
import type { NewUser } from '../src/core/users.js';

function target(existing: number): DemoSeedTarget & { inserted: NewUser[] } {
  const inserted: NewUser[] = [];
  return {
    inserted,
    count: async () => existing + inserted.length,
    insertIfEmpty: async (users) => {
      if (existing + inserted.length > 0) return false;
      inserted.push(...users);
      return true;
    },
  };
}

async function countingHasher(): Promise<{ hasher: PasswordHasher; hashes: () => number }> {
  const hasher = await PasswordHasher.create();
  let hashes = 0;
  const hash = hasher.hash.bind(hasher);
  hasher.hash = (password) => {
    hashes++;
    return hash(password);
  };
  return { hasher, hashes: () => hashes };
}

describe('seedDemoUsers', () => {
  it('seeds an empty database with every demo user, each password hashed and verifiable', async () => {
    const { hasher, hashes } = await countingHasher();
    const empty = target(0);
    expect(await seedDemoUsers(empty, hasher, systemClock)).toBe(true);
    expect(empty.inserted.map((u) => u.username)).toEqual(demoUsers().map((u) => u.username));
    expect(hashes()).toBe(demoUsers().length);
    expect(await hasher.verify(empty.inserted[0]!.passwordHash, 'emilyspass')).toBe(true);
  });

  it('leaves a database with users alone, and hashes nothing for it', async () => {
    const { hasher, hashes } = await countingHasher();
    const used = target(1);
    expect(await seedDemoUsers(used, hasher, systemClock)).toBe(false);
    expect(used.inserted).toEqual([]);
    expect(hashes()).toBe(0);
  });
});
