-- OAuth 2 (RFC 6749) clients are the API clients of 0003. Each may use only the grants it was
-- given (unauthorized_client otherwise): client_credentials by default, password and
-- refresh_token only when an administrator allows them (as Keycloak's "direct access grants").
ALTER TABLE api_users ADD COLUMN grant_types TEXT[] NOT NULL DEFAULT '{}'
  CHECK (grant_types <@ ARRAY['client_credentials', 'password', 'refresh_token']::TEXT[]);
UPDATE api_users SET grant_types = '{client_credentials}' WHERE kind = 'api_client';

-- The OAuth client a session was issued to. A refresh token may be redeemed only by that
-- client (RFC 6749 section 6), and introspection reports it as `client_id`. NULL for the
-- dialects' own logins, which have no client.
ALTER TABLE sessions ADD COLUMN client_id INTEGER REFERENCES api_users (id) ON DELETE CASCADE;
CREATE INDEX sessions_client_id_idx ON sessions (client_id) WHERE client_id IS NOT NULL;
