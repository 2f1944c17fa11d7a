-- Schema 21: PostgreSQL's triggers do their work in fewer statements (see the
-- PostgreSQL migration of the same number). Nothing changes here: SQLite's triggers
-- run inside the statement that fires them, at no such cost. The version is taken so
-- that one number means one logical schema on both engines.
SELECT 1;
