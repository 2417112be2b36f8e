"""What the preview shows of a tokenised example: its tokens as pieces of whole characters.

Byte-level BPE (GPT-2, Qwen, Llama 3) splits a character such as 你 or an en dash into tokens
that each hold only some of its UTF-8 bytes; decoded one by one they are U+FFFD. Consecutive
tokens of the same kind (learned or not, special or not) are grouped until they decode to whole
characters, so the view shows the text as the user wrote it; ``tokens`` says how many a piece holds.
"""

from __future__ import annotations

from typing import Any

REPLACEMENT = "\ufffd"
MOST_TOKENS = 8  # a character spans at most 4 bytes; a piece that still does not decode is shown as it is


def token_pieces(tokenizer: Any, ids: list[int], learned: list[bool]) -> list[dict[str, Any]]:
    """The example's tokens grouped into pieces: {text, learned, special, tokens}."""
    special_ids = set(getattr(tokenizer, "all_special_ids", []) or [])
    pieces: list[dict[str, Any]] = []
    group: list[int] = []
    kind: tuple[bool, bool] | None = None

    def close() -> None:
        if group:
            pieces.append({"text": tokenizer.decode(group), "learned": kind[0], "special": kind[1], "tokens": len(group)})
            group.clear()

    for token, is_learned in zip(ids, learned, strict=True):
        token_kind = (is_learned, token in special_ids)
        if group and (token_kind != kind or not _unfinished(tokenizer, group)):
            close()
        kind = token_kind
        group.append(token)
    close()
    return pieces


def _unfinished(tokenizer: Any, group: list[int]) -> bool:
    """Whether the group ends inside a character (its text ends in U+FFFD) and may still take a token."""
    return len(group) < MOST_TOKENS and tokenizer.decode(group).endswith(REPLACEMENT)
