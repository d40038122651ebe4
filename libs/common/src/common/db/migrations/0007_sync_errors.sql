-- Sync health per direction: the poller's download error and the writer's write-back error no
-- longer share channels.last_error, so a clean poll never erases the writer's error (nor the other
-- way round). channels.last_error keeps what concerns the channel itself (a refused token).
ALTER TABLE channels
    ADD COLUMN last_download_error  text,
    ADD COLUMN last_writeback_error text;

-- the writer marked its own errors with a prefix; an active channel's other error came from a poll
UPDATE channels
   SET last_writeback_error = substr(last_error, length('Write-back: ') + 1), last_error = NULL
 WHERE last_error LIKE 'Write-back: %';
UPDATE channels
   SET last_download_error = last_error, last_error = NULL
 WHERE status = 'active' AND last_error IS NOT NULL;
