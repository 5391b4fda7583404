"""Discord's hard limits, checked the way Discord checks them.

Every function returns an `errors` tree in Discord's shape (`{"embeds": {"0": {"title": {"_errors":
[...]}}}}`), empty when the payload is valid.  `invalid_form_body(errors)` wraps it in the 50035 body.
"""

from __future__ import annotations

import unicodedata
from typing import Any

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TITLE = 256
MAX_EMBED_DESCRIPTION = 4096
MAX_EMBED_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER_TEXT = 2048
MAX_AUTHOR_NAME = 256
MAX_EMBEDS_TOTAL = 6000
MAX_NAME = 32
MAX_DESCRIPTION = 100
MAX_OPTIONS = 25
MAX_CHOICES = 25
MAX_COMMAND_TOTAL = 8000
MAX_GLOBAL_COMMANDS = 100
MAX_ACTION_ROWS = 5
MAX_BUTTONS_PER_ROW = 5
MAX_CUSTOM_ID = 100
MAX_SELECT_OPTIONS = 25
MAX_AUTOCOMPLETE_CHOICES = 25
MAX_FILES = 10                      # attachments uploaded with one message
MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # all the files of one request, without a boosted server or Nitro
MAX_ATTACHMENT_DESCRIPTION = 1024    # an attachment's alt text

Errors = dict[str, Any]


def invalid_form_body(errors: Errors) -> dict[str, Any]:
    return {"code": 50035, "message": "Invalid Form Body", "errors": errors}


def add_error(errors: Errors, path: tuple[str | int, ...], code: str, message: str) -> None:
    node = errors
    for key in path:
        node = node.setdefault(str(key), {})
    node.setdefault("_errors", []).append({"code": code, "message": message})


def _max_len(errors: Errors, path: tuple, value: Any, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        add_error(errors, path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


# --- messages --------------------------------------------------------------------------------------


def embed_size(embed: dict[str, Any]) -> int:
    """The characters Discord counts towards the 6,000 a message may carry across its embeds."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for field in embed.get("fields") or []:
        total += len(field.get("name") or "") + len(field.get("value") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


def validate_embeds(embeds: list[dict[str, Any]] | None, errors: Errors) -> None:
    if not embeds:
        return
    if len(embeds) > MAX_EMBEDS:
        add_error(errors, ("embeds",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length.")
    for i, embed in enumerate(embeds):
        p = ("embeds", i)
        _max_len(errors, p + ("title",), embed.get("title"), MAX_EMBED_TITLE)
        _max_len(errors, p + ("description",), embed.get("description"), MAX_EMBED_DESCRIPTION)
        fields = embed.get("fields") or []
        if len(fields) > MAX_EMBED_FIELDS:
            add_error(errors, p + ("fields",), "BASE_TYPE_MAX_LENGTH",
                      f"Must be {MAX_EMBED_FIELDS} or fewer in length.")
        for j, field in enumerate(fields):
            for key in ("name", "value"):
                if not field.get(key):
                    add_error(errors, p + ("fields", j, key), "BASE_TYPE_REQUIRED", "This field is required")
            _max_len(errors, p + ("fields", j, "name"), field.get("name"), MAX_FIELD_NAME)
            _max_len(errors, p + ("fields", j, "value"), field.get("value"), MAX_FIELD_VALUE)
        _max_len(errors, p + ("footer", "text"), (embed.get("footer") or {}).get("text"), MAX_FOOTER_TEXT)
        _max_len(errors, p + ("author", "name"), (embed.get("author") or {}).get("name"), MAX_AUTHOR_NAME)
    if sum(embed_size(e) for e in embeds) > MAX_EMBEDS_TOTAL:
        add_error(errors, ("embeds",), "MAX_EMBED_SIZE_EXCEEDED",
                  f"Embed size exceeds maximum size of {MAX_EMBEDS_TOTAL}")


def _walk_components(components: list[dict[str, Any]]):
    for component in components or []:
        yield component
        yield from _walk_components(component.get("components") or [])
        if isinstance(component.get("accessory"), dict):
            yield component["accessory"]


def validate_components(components: list[dict[str, Any]] | None, errors: Errors) -> None:
    if not components:
        return
    if len(components) > MAX_ACTION_ROWS:
        add_error(errors, ("components",), "BASE_TYPE_MAX_LENGTH",
                  f"Must be {MAX_ACTION_ROWS} or fewer in length.")
    for i, row in enumerate(components):
        if row.get("type") == 1:
            children = row.get("components") or []
            buttons = [c for c in children if c.get("type") == 2]
            others = [c for c in children if c.get("type") != 2]
            if len(buttons) > MAX_BUTTONS_PER_ROW:
                add_error(errors, ("components", i, "components"), "BASE_TYPE_MAX_LENGTH",
                          f"Must be {MAX_BUTTONS_PER_ROW} or fewer in length.")
            if others and (len(children) > 1):
                add_error(errors, ("components", i, "components"), "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                          "The specified component exceeds the maximum width")
    for component in _walk_components(components):
        custom_id = component.get("custom_id")
        if custom_id is not None and len(custom_id) > MAX_CUSTOM_ID:
            add_error(errors, ("components", "custom_id"), "BASE_TYPE_MAX_LENGTH",
                      f"Must be {MAX_CUSTOM_ID} or fewer in length.")
        if component.get("type") == 3 and len(component.get("options") or []) > MAX_SELECT_OPTIONS:
            add_error(errors, ("components", "options"), "BASE_TYPE_MAX_LENGTH",
                      f"Must be {MAX_SELECT_OPTIONS} or fewer in length.")


def validate_message(payload: dict[str, Any]) -> Errors:
    """A message as posted to a channel, a webhook, or an interaction callback of type 4 / 7."""
    errors: Errors = {}
    _max_len(errors, ("content",), payload.get("content"), MAX_CONTENT)
    validate_embeds(payload.get("embeds"), errors)
    validate_components(payload.get("components"), errors)
    return errors


def validate_files(payload: dict[str, Any], files: list[dict[str, Any]]) -> Errors:
    """The uploads of one message: how many, and each attachment's alt text (`payload.attachments`)."""
    errors: Errors = {}
    if len(files) > MAX_FILES:
        add_error(errors, ("attachments",), "BASE_TYPE_MAX_LENGTH",
                  f"Must be {MAX_FILES} or fewer in length.")
    for i, meta in enumerate(payload.get("attachments") or []):
        if len(meta.get("description") or "") > MAX_ATTACHMENT_DESCRIPTION:
            add_error(errors, ("attachments", i, "description"), "BASE_TYPE_MAX_LENGTH",
                      f"Must be {MAX_ATTACHMENT_DESCRIPTION} or fewer in length.")
    return errors


def is_empty_message(payload: dict[str, Any], files: int = 0) -> bool:
    return not (payload.get("content") or payload.get("embeds") or payload.get("components")
                or payload.get("sticker_ids") or payload.get("poll") or files)


def validate_autocomplete(payload: dict[str, Any]) -> Errors:
    errors: Errors = {}
    choices = payload.get("choices") or []
    if len(choices) > MAX_AUTOCOMPLETE_CHOICES:
        add_error(errors, ("choices",), "BASE_TYPE_MAX_LENGTH",
                  f"Must be {MAX_AUTOCOMPLETE_CHOICES} or fewer in length.")
    for i, choice in enumerate(choices):
        name = choice.get("name") or ""
        if not 1 <= len(name) <= 100:
            add_error(errors, ("choices", i, "name"), "BASE_TYPE_BAD_LENGTH",
                      "Must be between 1 and 100 in length.")
    return errors


# --- application commands --------------------------------------------------------------------------


def _name_char_ok(ch: str) -> bool:
    """`[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]` without the `regex` module."""
    if ch in "-_'":
        return True
    if unicodedata.category(ch)[0] in "LN":
        return True
    cp = ord(ch)
    # Devanagari (+ Extended, Vedic Extensions), Thai.
    return (0x0900 <= cp <= 0x097F or 0xA8E0 <= cp <= 0xA8FF or 0x1CD0 <= cp <= 0x1CFF
            or 0x0E00 <= cp <= 0x0E7F)


def valid_chat_input_name(name: str) -> bool:
    return 1 <= len(name) <= MAX_NAME and all(_name_char_ok(c) for c in name) and name == name.lower()


def _check_name_description(errors: Errors, path: tuple, obj: dict[str, Any], chat_input: bool) -> None:
    name = obj.get("name") or ""
    if chat_input:
        if not valid_chat_input_name(name):
            add_error(errors, path + ("name",), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        description = obj.get("description") or ""
        if not 1 <= len(description) <= MAX_DESCRIPTION:
            add_error(errors, path + ("description",), "BASE_TYPE_BAD_LENGTH",
                      f"Must be between 1 and {MAX_DESCRIPTION} in length.")
    else:
        if not 1 <= len(name) <= MAX_NAME:
            add_error(errors, path + ("name",), "BASE_TYPE_BAD_LENGTH",
                      f"Must be between 1 and {MAX_NAME} in length.")
        if obj.get("description"):
            add_error(errors, path + ("description",), "APPLICATION_COMMAND_INVALID_DESCRIPTION",
                      "Context menu commands cannot have a description")


def _option_chars(option: dict[str, Any]) -> int:
    total = len(option.get("name") or "") + len(option.get("description") or "")
    for choice in option.get("choices") or []:
        total += len(choice.get("name") or "")
        if isinstance(choice.get("value"), str):
            total += len(choice["value"])
    for sub in option.get("options") or []:
        total += _option_chars(sub)
    return total


def _validate_options(errors: Errors, path: tuple, options: list[dict[str, Any]]) -> None:
    if len(options) > MAX_OPTIONS:
        add_error(errors, path + ("options",), "BASE_TYPE_MAX_LENGTH",
                  f"Must be {MAX_OPTIONS} or fewer in length.")
    seen: set[str] = set()
    for i, option in enumerate(options):
        p = path + ("options", i)
        _check_name_description(errors, p, option, chat_input=True)
        if option.get("name") in seen:
            add_error(errors, p + ("name",), "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                      "Option name already exists")
        seen.add(option.get("name"))
        choices = option.get("choices") or []
        if len(choices) > MAX_CHOICES:
            add_error(errors, p + ("choices",), "BASE_TYPE_MAX_LENGTH",
                      f"Must be {MAX_CHOICES} or fewer in length.")
        for j, choice in enumerate(choices):
            if not 1 <= len(choice.get("name") or "") <= 100:
                add_error(errors, p + ("choices", j, "name"), "BASE_TYPE_BAD_LENGTH",
                          "Must be between 1 and 100 in length.")
        if option.get("type") in (1, 2):
            _validate_options(errors, p, option.get("options") or [])


def validate_command(command: dict[str, Any], errors: Errors, index: int) -> None:
    path: tuple = (index,)
    chat_input = command.get("type", 1) == 1
    _check_name_description(errors, path, command, chat_input)
    if chat_input:
        _validate_options(errors, path, command.get("options") or [])
        if _option_chars(command) > MAX_COMMAND_TOTAL:
            add_error(errors, path, "APPLICATION_COMMAND_TOO_LARGE",
                      f"Command exceeds maximum size ({MAX_COMMAND_TOTAL})")


def validate_commands(commands: list[dict[str, Any]], *, global_: bool) -> Errors:
    errors: Errors = {}
    if len(commands) > MAX_GLOBAL_COMMANDS:
        add_error(errors, (), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_GLOBAL_COMMANDS} or fewer in length.")
    seen: set[tuple[int, str]] = set()
    for i, command in enumerate(commands):
        validate_command(command, errors, i)
        key = (command.get("type", 1), command.get("name"))
        if key in seen:
            add_error(errors, (i, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME",
                      "Application command names must be unique")
        seen.add(key)
    return errors
