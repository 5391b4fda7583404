-- Releases keep the exact payloads they send, so a release resumed after a crash (or after a deploy with a
-- changed renderer, or a re-import) sends the same parts it started with; a scheduled release records the
-- schedule slot that started it, so a slot fires at most once even if the bot dies right after claiming it.
-- releases.payloads: JSON list of message payloads (NULL for rows written before V6).
-- releases.thread_name: the discussion thread to open (NULL: none).
-- releases.schedule_id / schedule_slot: the schedule and the slot (UTC instant) that started the release.
ALTER TABLE releases ADD COLUMN payloads TEXT;
ALTER TABLE releases ADD COLUMN thread_name TEXT;
ALTER TABLE releases ADD COLUMN schedule_id INTEGER;
ALTER TABLE releases ADD COLUMN schedule_slot TEXT;
CREATE UNIQUE INDEX releases_by_schedule_slot ON releases(schedule_id, schedule_slot) WHERE schedule_id IS NOT NULL;

-- schedules.channel_id: where /schedule add was used, the story channel when the guild set none.
-- schedules.last_run_at: the last slot that fired (UTC ISO-8601).
ALTER TABLE schedules ADD COLUMN channel_id INTEGER;
ALTER TABLE schedules ADD COLUMN last_run_at TEXT;
CREATE INDEX schedules_by_guild ON schedules(guild_id, id);
