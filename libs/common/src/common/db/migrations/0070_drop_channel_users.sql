-- channel_users was written by the auth and load callbacks and never read: who may open the settings
-- page is decided by launch tokens and sessions (0010), which remove-user still ends. The store
-- owner's e-mail stays on the channel (owner_email).
DROP TABLE IF EXISTS channel_users;
