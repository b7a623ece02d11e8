-- Claims a service account's API keys carry, as a JSON object: what a
-- credential binding (`bind(environment = "production")`) checks. A JWT
-- brings its own claims instead. Every key of the account, a rotated one
-- too, is read with the account's current claims.
ALTER TABLE service_accounts ADD COLUMN claims TEXT NOT NULL DEFAULT '{}';
-- A database seeded before: the billing service captures in production.
UPDATE service_accounts SET claims = '{"environment":"production"}' WHERE name = 'svc-billing';
