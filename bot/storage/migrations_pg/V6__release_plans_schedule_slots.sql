-- PostgreSQL form of migrations/V6__release_plans_schedule_slots.sql.
ALTER TABLE releases ADD COLUMN payloads TEXT;
ALTER TABLE releases ADD COLUMN thread_name TEXT;
ALTER TABLE releases ADD COLUMN schedule_id BIGINT;
ALTER TABLE releases ADD COLUMN schedule_slot TEXT;
CREATE UNIQUE INDEX releases_by_schedule_slot ON releases(schedule_id, schedule_slot) WHERE schedule_id IS NOT NULL;

ALTER TABLE schedules ADD COLUMN channel_id BIGINT;
ALTER TABLE schedules ADD COLUMN last_run_at TEXT;
CREATE INDEX schedules_by_guild ON schedules(guild_id, id);
