"""`/quiz start|stop|leaderboard|stats`: glue between Discord and `bot.quiz.service`.

Answer buttons are `DynamicItem`s whose custom_id says game/question/option, registered once with
`bot.add_dynamic_items`: every click reaches `QuizButton.callback` whatever message it comes from, so a
button left on screen by a game that ended (or by a process that restarted) answers "this quiz has
ended" instead of failing.  Timing is the cog's `question_seconds` / `reveal_seconds` and its `timer`,
which tests replace.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.charts import accuracy_chart
from bot.errors import UserError
from bot.quiz.model import LETTERS
from bot.quiz.render import CUSTOM_ID_PATTERN, Screen, leaderboard_embed, stats_chart_alt_text, stats_embed
from bot.quiz.service import DEFAULT_QUESTIONS, MAX_QUESTIONS, MIN_QUESTIONS, QuizService
from bot.quiz.session import AnswerOutcome, QuizSession, QuizTimer
from bot.storage import quiz as store
from bot.storage.database import Database
from bot.storage.releases import released_through
from cogs.shared.checks import member_is_moderator
from cogs.shared.inflight import TrackedClick
from cogs.shared.ui import to_embed

if TYPE_CHECKING:
    from bot.app import AARBot

_log = logging.getLogger(__name__)

QUESTION_SECONDS = 20.0
REVEAL_SECONDS = 6.0
PLAN_WITHOUT_DEFER_SECONDS = 2.0
STATS_CHART = "quiz-accuracy.png"
ENDED = ("This quiz has ended, so answers are no longer taken. The points earned in it are kept: "
         "see `/quiz leaderboard`.")
NOT_HERE = "This quiz is not running here, so this answer does not count."
STYLES = {"primary": discord.ButtonStyle.primary, "secondary": discord.ButtonStyle.secondary,
          "success": discord.ButtonStyle.success, "danger": discord.ButtonStyle.danger}


def answer_reply(outcome: AnswerOutcome) -> str | None:
    """What the clicking member is told (ephemeral); None for a solo answer, which the reveal answers."""
    if outcome.status == "accepted":
        assert outcome.answer is not None
        return (f"Your answer, **{LETTERS[outcome.answer.option]}**, is in. "
                "The right one is revealed when time is up.")
    if outcome.status == "already_answered":
        letter = f" (**{LETTERS[outcome.answer.option]}**)" if outcome.answer else ""
        return f"You already answered this question{letter}; answers can't be changed."
    if outcome.status == "too_late":
        return "Too late: time ran out for this question before your answer arrived."
    if outcome.status == "not_open":
        return "This question is closed; answer the one the quiz is showing now."
    if outcome.status == "not_yours":
        return "This is someone else's solo quiz. Start your own with `/quiz start mode: solo`."
    if outcome.status == "elsewhere":
        return NOT_HERE
    return ENDED


class QuizButton(TrackedClick, discord.ui.DynamicItem[discord.ui.Button[Any]], template=CUSTOM_ID_PATTERN):
    """One answer button: game, question and option are all in its custom_id."""

    def __init__(self, game_id: int, position: int, option: int, *, label: str | None = None,
                 style: discord.ButtonStyle = discord.ButtonStyle.primary, disabled: bool = False) -> None:
        super().__init__(discord.ui.Button(custom_id=f"aarquiz:{game_id}:{position}:{option}",
                                           label=label or LETTERS[option % 4], style=style,
                                           disabled=disabled))
        self.game_id, self.position, self.option = game_id, position, option

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> QuizButton:
        return cls(int(match["game"]), int(match["position"]), int(match["option"]))


    async def callback(self, interaction: discord.Interaction) -> None:
        cog = interaction.client.get_cog("Quiz") if isinstance(interaction.client, commands.Bot) else None
        if not isinstance(cog, Quiz):
            await interaction.response.send_message(ENDED, ephemeral=True)
            return
        await cog.on_answer(interaction, self.game_id, self.position, self.option)


def build_view(screen: Screen) -> discord.ui.View | None:
    if not screen.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for spec in screen.buttons:
        match = re.fullmatch(CUSTOM_ID_PATTERN, spec.custom_id)
        assert match is not None
        view.add_item(QuizButton(int(match["game"]), int(match["position"]), int(match["option"]),
                                 label=spec.label, style=STYLES[spec.style], disabled=spec.disabled))
    return view


class QuizMessage:
    """The one message a game lives in: the start interaction's response, edited from then on.

    A channel quiz's message is edited through the channel once it exists, not through the interaction:
    an interaction token expires after 15 minutes, and a long quiz (or a slow channel) outlives it.
    A solo quiz is ephemeral, which only the interaction can edit.
    """

    def __init__(self, interaction: discord.Interaction, conn: Database, game_id: int,
                 ephemeral: bool) -> None:
        self.interaction = interaction
        self.conn = conn
        self.game_id = game_id
        self.ephemeral = ephemeral
        self.sent = False
        self.posted: discord.PartialMessage | None = None

    async def __call__(self, screen: Screen) -> None:
        embed = to_embed(screen.embed)
        view = build_view(screen)
        if self.posted is not None:
            # Deliberate: discord.py applies the bot-wide AllowedMentions to a message edit only when the
            # edit sets content, and this one sets an embed.
            await self.posted.edit(embed=embed, view=view,
                                   allowed_mentions=self.interaction.client.allowed_mentions)
            return
        if not self.sent and not self.interaction.response.is_done():
            if view is not None:
                await self.interaction.response.send_message(embed=embed, ephemeral=self.ephemeral, view=view)
            else:
                await self.interaction.response.send_message(embed=embed, ephemeral=self.ephemeral)
            message = await self.interaction.original_response()
            await self._remember(message.id)
        elif not self.sent:  # answered "thinking" while planning: the quiz replaces it
            message = await self.interaction.edit_original_response(embed=embed, view=view)
            await self._remember(message.id)
        else:
            await self.interaction.edit_original_response(embed=embed, view=view)

    async def _remember(self, message_id: int) -> None:
        self.sent = True
        await store.set_message(self.conn, self.game_id, message_id)
        channel = self.interaction.channel
        if not self.ephemeral and channel is not None and hasattr(channel, "get_partial_message"):
            self.posted = channel.get_partial_message(message_id)


class Quiz(commands.GroupCog, group_name="quiz",
           group_description="Test yourselves on the chapters released here"):
    def __init__(self, bot: AARBot) -> None:
        self.bot = bot
        self.service = QuizService(bot.db, bot.clock)
        self.question_seconds = QUESTION_SECONDS
        self.reveal_seconds = REVEAL_SECONDS
        self.plan_without_defer = PLAN_WITHOUT_DEFER_SECONDS
        self.timer = QuizTimer()
        self.runners: dict[int, asyncio.Task[None]] = {}
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(QuizButton)
        ended = await self.service.recover(self.bot.owns_guild)  # only this process's shards' servers
        if ended:
            _log.info("Ended %d quiz game(s) left running by the previous process; their points are kept",
                      ended)

    async def cog_unload(self) -> None:
        for session in list(self.service.sessions.values()):
            session.stop(None, "interrupted")
        tasks = list(self.runners.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.bot.remove_dynamic_items(QuizButton)

    # --- playing ---------------------------------------------------------------------------------

    async def on_answer(self, interaction: discord.Interaction, game_id: int, position: int,
                        option: int) -> None:
        session = self.service.sessions.get(game_id)  # before answering: the last answer may end the game
        outcome = await self.service.answer(game_id, position, interaction.user.id, option,
                                            place=(interaction.guild_id, interaction.channel_id))
        if outcome.status == "accepted" and session is not None and session.mode == "solo":
            await interaction.response.defer()  # the reveal, on the quiz message itself, is the answer
            return
        await interaction.response.send_message(answer_reply(outcome), ephemeral=True)

    @app_commands.command(name="start", description="Start a quiz on the chapters released in this server")
    @app_commands.describe(questions=f"How many questions ({MIN_QUESTIONS}-{MAX_QUESTIONS}, "
                                     f"default {DEFAULT_QUESTIONS})",
                           mode="solo: just you, privately; channel: everyone here can answer (default)",
                           chapters="Which released chapters, e.g. 2, 1-3 or 1,3 (default: all released)")
    @app_commands.guild_only()
    async def start(self, interaction: discord.Interaction,
                    questions: app_commands.Range[int, MIN_QUESTIONS, MAX_QUESTIONS] = DEFAULT_QUESTIONS,
                    mode: Literal["channel", "solo"] = "channel", chapters: str | None = None) -> None:
        assert interaction.guild_id is not None and interaction.channel_id is not None
        user_id = interaction.user.id
        busy = self.service.channel_game(interaction.channel_id) if mode == "channel" else \
            self.service.solo_game(interaction.guild_id, user_id)
        if busy is not None:
            where = "A quiz is already running in this channel" if mode == "channel" else \
                "You already have a solo quiz running"
            raise UserError(f"{where} (started by <@{busy.starter_id}>). Wait for its scoreboard, "
                            "or end it with `/quiz stop`.")
        # Planning is quick once the released chapters were read; the first quiz after a release of a long
        # story may take longer than Discord's 3 s, so answer "thinking" if it does.
        planning = asyncio.ensure_future(self.service.plan(interaction.guild_id, questions, chapters))
        done, _ = await asyncio.wait({planning}, timeout=self.plan_without_defer)
        if not done:
            await interaction.response.defer(ephemeral=mode == "solo", thinking=True)
        plan = await planning  # a `Refusal` goes to the member through the tree's error handler
        try:
            session = await self.service.start(plan, guild_id=interaction.guild_id,
                                               channel_id=interaction.channel_id, starter_id=user_id,
                                               mode=mode, question_seconds=self.question_seconds)
        except store.QuizAlreadyRunning:
            raise UserError("A quiz was just started here; join that one.") from None
        show = QuizMessage(interaction, self.bot.db, session.game_id, ephemeral=mode == "solo")
        task = asyncio.create_task(self._run(session, show), name=f"quiz-{session.game_id}")
        self.runners[session.game_id] = task

    async def _run(self, session: QuizSession, show: QuizMessage) -> None:
        try:
            await self.service.run(session, show, self.timer, self.reveal_seconds)
        finally:
            self.runners.pop(session.game_id, None)

    @app_commands.command(name="stop",
                          description="Stop the quiz running in this channel (its starter or a moderator)")
    @app_commands.guild_only()
    async def stop(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None and interaction.channel_id is not None
        user_id = interaction.user.id
        session = self.service.channel_game(interaction.channel_id)
        if session is not None:
            if user_id != session.starter_id and not await member_is_moderator(self.bot, interaction):
                raise UserError(f"Only <@{session.starter_id}>, who started this quiz, "
                                "or a moderator can stop it.")
        else:
            session = self.service.solo_game(interaction.guild_id, user_id)
            if session is None:
                await interaction.response.send_message("No quiz is running in this channel.", ephemeral=True)
                return
        await self.service.stop(session, user_id)
        await interaction.response.send_message("Quiz stopped. The points earned so far are kept.",
                                                ephemeral=True)

    # --- scores ----------------------------------------------------------------------------------

    @app_commands.command(name="leaderboard", description="The quiz leaderboard of this server")
    @app_commands.guild_only()
    async def leaderboard(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        rows = await store.leaderboard(self.bot.db, interaction.guild.id)
        embed = to_embed(leaderboard_embed(rows, interaction.guild.name))
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="stats", description="A member's quiz record in this server")
    @app_commands.describe(member="Whose record (default: yours)")
    @app_commands.guild_only()
    async def stats(self, interaction: discord.Interaction, member: discord.User | None = None) -> None:
        # discord.User, not Member: the record of someone who has since left the server is still asked for
        # (Discord then resolves a user without member data, which a Member option turns into an error).
        assert interaction.guild_id is not None
        user_id = (member or interaction.user).id
        record = await store.member_score(self.bot.db, interaction.guild_id, user_id)
        through = await released_through(self.bot.db, interaction.guild_id)
        per_chapter = await store.member_chapter_accuracy(self.bot.db, interaction.guild_id, user_id, through)
        embed = to_embed(stats_embed(user_id, record, per_chapter))
        if record is None or not per_chapter:
            await interaction.response.send_message(embed=embed, ephemeral=True)
            return
        chart = await asyncio.to_thread(accuracy_chart, per_chapter)  # tens of ms: off the event loop
        file = discord.File(io.BytesIO(chart.png), filename=STATS_CHART,
                            description=stats_chart_alt_text(per_chapter))
        embed.set_image(url=f"attachment://{STATS_CHART}")
        await interaction.response.send_message(embed=embed, file=file, ephemeral=True)


async def setup(bot: AARBot) -> None:
    await bot.add_cog(Quiz(bot))
