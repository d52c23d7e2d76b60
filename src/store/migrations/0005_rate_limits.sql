-- Rate-limit counters shared by every instance on a PostgreSQL server, in the layout
-- rate-limiter-flexible's RateLimiterPostgres reads and writes (`key`, `points`, `expire` in
-- epoch milliseconds). Keys are `<bucket>:<sha256 hex>`, never a login or an address in
-- clear. Expired rows are deleted by a periodic sweep (src/store/rate-limits.ts).
-- The embedded database keeps its counters in memory and never writes here.
CREATE TABLE rate_limits (
  key     TEXT PRIMARY KEY,
  points  INTEGER NOT NULL DEFAULT 0,
  expire  BIGINT
);
CREATE INDEX rate_limits_expire_idx ON rate_limits (expire);
