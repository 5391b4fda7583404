"""AAR Bot: serve a Paradox-forum After Action Report to a Discord community."""

__version__ = "0.1.0"
