-- The quiz: games (one running channel quiz per channel, one running solo quiz per member), the questions a
-- game asked, every answer given, and each member's running totals per guild.
-- quiz_scores is kept by a trigger on quiz_answers, so an answer and the score it earns are written by one
-- statement: a crash can never keep one without the other, and the leaderboard reads one small table.
CREATE TABLE quiz_games (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    channel_id     INTEGER NOT NULL,
    starter_id     INTEGER NOT NULL,
    mode           TEXT NOT NULL CHECK (mode IN ('solo', 'channel')),
    status         TEXT NOT NULL CHECK (status IN ('running', 'finished', 'stopped', 'interrupted')),
    question_count INTEGER NOT NULL CHECK (question_count BETWEEN 1 AND 20),
    chapters       TEXT NOT NULL,                 -- the chapters asked about, e.g. '1-2' or '1,3'
    message_id     INTEGER,                       -- the quiz message, once posted
    started_at     TEXT NOT NULL,
    ended_at       TEXT,
    ended_by       INTEGER                        -- who stopped it (status 'stopped')
);
CREATE UNIQUE INDEX quiz_one_channel_game ON quiz_games(channel_id) WHERE status = 'running' AND mode = 'channel';
CREATE UNIQUE INDEX quiz_one_solo_game ON quiz_games(guild_id, starter_id) WHERE status = 'running' AND mode = 'solo';
CREATE INDEX quiz_games_by_guild ON quiz_games(guild_id, id);

CREATE TABLE quiz_questions (
    game_id      INTEGER NOT NULL REFERENCES quiz_games(id),
    position     INTEGER NOT NULL,                -- 0-based order in the game
    question_key TEXT NOT NULL,                   -- bot.quiz.model.Question.key
    chapter      INTEGER NOT NULL,
    right_option INTEGER NOT NULL CHECK (right_option BETWEEN 0 AND 3),
    PRIMARY KEY (game_id, position)
);

CREATE TABLE quiz_answers (
    game_id     INTEGER NOT NULL REFERENCES quiz_games(id),
    position    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    guild_id    INTEGER NOT NULL,
    option      INTEGER NOT NULL CHECK (option BETWEEN 0 AND 3),
    correct     INTEGER NOT NULL CHECK (correct IN (0, 1)),
    points      INTEGER NOT NULL CHECK (points >= 0),
    answered_at TEXT NOT NULL,
    PRIMARY KEY (game_id, position, user_id)      -- one answer per member per question, enforced here too
);
CREATE INDEX quiz_answers_by_member ON quiz_answers(guild_id, user_id);

CREATE TABLE quiz_scores (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    score    INTEGER NOT NULL DEFAULT 0,
    answers  INTEGER NOT NULL DEFAULT 0,
    correct  INTEGER NOT NULL DEFAULT 0,
    games    INTEGER NOT NULL DEFAULT 0,          -- games in which the member answered at least once
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX quiz_scores_ranking ON quiz_scores(guild_id, score DESC);

CREATE TRIGGER quiz_answer_scores AFTER INSERT ON quiz_answers
BEGIN
    INSERT OR IGNORE INTO quiz_scores(guild_id, user_id) VALUES (NEW.guild_id, NEW.user_id);
    UPDATE quiz_scores
       SET score = score + NEW.points,
           answers = answers + 1,
           correct = correct + NEW.correct,
           games = games + (SELECT COUNT(*) = 1 FROM quiz_answers WHERE game_id = NEW.game_id AND user_id = NEW.user_id)
     WHERE guild_id = NEW.guild_id AND user_id = NEW.user_id;
END;
