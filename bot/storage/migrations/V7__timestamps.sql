-- One format for every stored instant (bot.timestamps): UTC, milliseconds, `Z`, e.g.
-- 2026-05-01T18:00:00.000Z, what the schema's defaults always wrote.  Before, releases wrote microseconds
-- (…00.123456Z), schedules whole seconds (…00Z), the quiz and the hall of fame `+00:00` offsets.  Slots
-- are compared by equality (`releases.schedule_slot`) and due times as text (`schedules.next_run_at <=
-- now`), so every old value is rewritten: a slot claimed before the upgrade is still recognised after it.
--
-- strftime reads every one of those forms and writes the new one in UTC (rounding digits past the
-- millisecond, which only releases and hall-of-fame bookkeeping had and nothing compares).  NULL stays
-- NULL; a value strftime cannot read is kept exactly as it was (COALESCE), so no data is lost.
-- schema_migrations.applied_at was always written by its default: nothing to rewrite.

UPDATE chapters SET
    imported_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', imported_at), imported_at);

UPDATE imports SET
    imported_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', imported_at), imported_at);

UPDATE releases SET
    started_at    = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', started_at), started_at),
    completed_at  = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', completed_at), completed_at),
    schedule_slot = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', schedule_slot), schedule_slot);

UPDATE release_parts SET
    sent_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', sent_at), sent_at);

UPDATE schedules SET
    next_run_at  = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', next_run_at), next_run_at),
    created_at   = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', created_at), created_at),
    cancelled_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', cancelled_at), cancelled_at),
    last_run_at  = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', last_run_at), last_run_at);

UPDATE character_index_state SET
    built_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', built_at), built_at);

UPDATE quiz_games SET
    started_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', started_at), started_at),
    ended_at   = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', ended_at), ended_at);

UPDATE quiz_answers SET
    answered_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', answered_at), answered_at);

UPDATE hall_of_fame_posts SET
    posted_at  = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', posted_at), posted_at),
    updated_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', updated_at), updated_at);
