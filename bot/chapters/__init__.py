"""Chapters: releasing the story into a server, reading it back privately, and scheduling releases.

`render` packs a chapter into Discord messages; `publishing` is the release engine (exactly once,
resumable after a crash); `reading` serves released chapters privately and suggests them; `when` parses a
moderator's `when:` and computes the next run; `schedules` stores schedules and fires the due ones through
the engine; `replies` is what the feature says.  Nothing here imports discord: `cogs/chapters.py` and
`cogs/schedule.py` translate, and `cogs/shared/sender.py` is the engine's way out to Discord.
"""
