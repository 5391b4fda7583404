"""The quiz: curated and generated questions on released chapters, a game engine, and its renderer.

`schema` validates `data/quiz.toml`; `bank` loads it and keeps only the questions whose chapter matches
the imported story; `generate` makes checkable questions from any imported text; `session` runs a game
(one answer per member per question, faster right answers score higher) on an injected clock;
`service` ties them to storage; `render` lays a game out as Discord payload dicts.  Nothing here
imports discord: `cogs/quiz.py` translates.
"""

from bot.quiz.model import Question

__all__ = ["Question"]
