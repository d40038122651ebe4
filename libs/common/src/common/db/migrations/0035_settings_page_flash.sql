-- The demo settings pages answer every form with a redirect (post/redirect/get, so a reload never
-- sends it again). What the next page must show once travels in its session: the notice, or the
-- refusal with the values the merchant typed and a message per field. Read and cleared together.
ALTER TABLE settings_sessions ADD COLUMN flash jsonb;
