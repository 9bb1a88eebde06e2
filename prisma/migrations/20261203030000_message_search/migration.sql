-- Search: a full-text index of each message's content, kept by Postgres itself.
--
-- A stored generated column, so an edit re-indexes the message in the statement that edits it
-- and a delete (content "") empties it; ranking reads the stored vector instead of parsing the
-- content again. The 'simple' configuration indexes every word as written (lower-cased), in any
-- language: the marketplace's messages are German, English and more, and a stemmer for one
-- language would mangle the others. The last word of a query is matched as a prefix.
--
-- Adding a stored generated column rewrites the table once (an ACCESS EXCLUSIVE lock for the
-- length of the rewrite): run it in a quiet window on a large table.

-- AlterTable
ALTER TABLE "providerCustomerMessages"
  ADD COLUMN "searchVector" tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, content)) STORED;

-- CreateIndex
CREATE INDEX "providerCustomerMessages_searchVector_idx" ON "providerCustomerMessages" USING GIN ("searchVector");
