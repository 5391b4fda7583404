"""`UserError`: what a member did wrong or cannot do, with the sentence that tells them so.

Every feature raises a subclass of it (a `when:` the scheduler cannot read, a chapter not out yet, a
quiz that cannot start...).  The command tree's error handler shows its message to the member, privately,
as written; anything else that escapes a command is a bug, logged, and answered with a generic apology.
So a refusal is one `raise`, wherever the reason is found, and never a `try/except` in the cogs.
"""

from __future__ import annotations


class UserError(Exception):
    """A refusal whose message is safe to show to the member as is (input echoed through `echo_input`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
