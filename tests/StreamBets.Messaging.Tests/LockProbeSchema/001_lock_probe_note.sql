-- A schema change that needs an exclusive lock on a table in use (SchemaMigrationTests).
ALTER TABLE lock_probe ADD COLUMN note text;
