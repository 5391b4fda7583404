"""Searching the story (`/search`): member input → a safe FTS5 query, results with escaped, highlighted
snippets and jump links to the release message that holds each passage.  Discord-free."""
