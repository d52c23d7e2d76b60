-- CoCart logs users in by username, email or phone. Phones are matched on their digits only,
-- so "+81 965-431-3024" and "+819654313024" are the same login.
ALTER TABLE users ADD COLUMN phone_digits TEXT GENERATED ALWAYS AS (regexp_replace(phone, '[^0-9]', '', 'g')) STORED;
CREATE INDEX users_phone_digits_idx ON users (phone_digits) WHERE phone_digits <> '';
