-- PostgreSQL form of migrations/V8__guild_departures.sql.
CREATE TABLE guild_departures (
    guild_id  BIGINT PRIMARY KEY,
    left_at   TEXT NOT NULL
);
