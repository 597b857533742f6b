-- Sessions of people signed in with Entra ID: the role their app roles gave (local accounts'
-- sessions leave it NULL and take the account's current role), their name and object id.
ALTER TABLE sessions ADD COLUMN role TEXT;
ALTER TABLE sessions ADD COLUMN person_name TEXT;
ALTER TABLE sessions ADD COLUMN object_id TEXT;
