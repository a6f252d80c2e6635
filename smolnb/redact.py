"""Secrets kept out of spans, logs, the run store and eval outputs.

`redact(text)` replaces, with `[REDACTED]`:
- the values of environment variables whose names look secret (`*_API_KEY`, `*_TOKEN`,
  `*_SECRET*`, `*PASSWORD*`), as they are now (8 characters or longer);
- strings shaped like provider keys (`sk-...`, `sk-ant-...`, `hf_...`, `ghp_...`, `AKIA...`,
  `xoxb-...`), bearer tokens, and `api_key=...` / `"api_key": "..."` pairs;
- anything matching a pattern added with `add_pattern(regex)` or listed, comma-separated, in
  `SMOLNB_REDACT`.
"""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Any

from .config import setting

__all__ = [
    "MASK",
    "add_pattern",
    "add_secret",
    "holds_secret",
    "is_secret_name",
    "mask_uri_password",
    "redact",
    "redact_messages",
    "redact_obj",
    "storable",
]

MASK = "[REDACTED]"
_SECRET_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$|_(API_?KEY|TOKEN|SECRET|PASSWORD)_?", re.I)
_BUILTIN = [
    r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}",
    r"\bhf_[A-Za-z0-9]{20,}",
    r"\bgh[pousr]_[A-Za-z0-9]{20,}",
    r"\bAKIA[0-9A-Z]{16}\b",
    r"\bxox[abpr]-[A-Za-z0-9\-]{10,}",
    r"(?i:\bbearer)\s+[A-Za-z0-9._\-]{12,}",
    r"(?<=(?i:api_key)=)[^\s&\"',]{8,}",
    r"(?<=(?i:\"api_key\": \"))[^\"]{8,}",
]
_extra: list[str] = []
_secrets: set[str] = set()
_cache: dict[str, Any] = {"key": None, "regex": None, "checked": 0.0}
_lock = threading.Lock()


def add_pattern(regex: str) -> None:
    """Redact whatever `regex` matches from now on."""
    re.compile(regex)  # a bad pattern fails here, not at the next log line
    with _lock:
        _extra.append(regex)
        _cache["key"] = None


def add_secret(value: str) -> None:
    """Redact this exact value from now on (e.g. a key read from a file)."""
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)
            _cache["key"] = None


# Cheap substring checks first: the patterns below run only when one of these is in the text.
_HINTS = ("sk-", "hf_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "AKIA", "xox", "earer", "EARER", "pi_key", "PI_KEY", "pi_Key")
_BUILTIN_RE = re.compile("|".join(_BUILTIN))


def _rules() -> tuple[tuple[str, ...], re.Pattern[str] | None, Any]:
    """The redaction rules and the key that changes whenever they do.

    The literal secrets, longest first; a regex of the configured patterns or None; the key.
    """
    now = time.monotonic()
    if _cache["key"] is not None and now - _cache["checked"] < 1.0:  # the environment is read at most once a second
        return (*_cache["regex"], _cache["key"])
    env_secrets = tuple(sorted(v for k, v in os.environ.items() if len(v) >= 8 and _SECRET_NAME.search(k)))
    configured = tuple(p.strip() for p in setting("SMOLNB_REDACT").split(",") if p.strip())
    key = (env_secrets, configured, len(_extra), len(_secrets))
    _cache["checked"] = now
    if _cache["key"] != key:
        with _lock:
            literals = tuple(sorted({*env_secrets, *_secrets}, key=len, reverse=True))
            patterns = list(configured) + _extra
            _cache["regex"] = (literals, re.compile("|".join(patterns)) if patterns else None)
            _cache["key"] = key
    return (*_cache["regex"], key)


# Texts already redacted under the current rules (a run's history goes to the model, and so
# through `redact`, at every step: without this a step costs more the longer the run).
_memo: dict[str, str] = {}
_memo_state: dict[str, Any] = {"key": None, "chars": 0}
_MEMO_TEXT = 1 << 16  # characters: longer texts are redacted every time
_MEMO_CHARS = 32 << 20


def redact(text: str) -> str:
    """`text` with every secret replaced by [REDACTED]."""
    if not text:
        return text
    literals, configured, key = _rules()
    if _memo_state["key"] == key:
        done = _memo.get(text)
        if done is not None:
            return done
    out = _redact(text, literals, configured)
    if len(text) <= _MEMO_TEXT:
        with _lock:
            if _memo_state["key"] != key or _memo_state["chars"] > _MEMO_CHARS:
                _memo.clear()
                _memo_state.update(key=key, chars=0)
            if _cache["key"] == key:  # rules that changed meanwhile: not remembered
                _memo[text] = out
                _memo_state["chars"] += len(text)
    return out


def redact_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat messages with every string content redacted (unchanged messages are kept as they are)."""
    _rules()  # once for the list: the texts seen before are then one lookup each
    memo = _memo if _memo_state["key"] == _cache["key"] else {}
    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str) and content:
            done = memo.get(content)
            if done is None:
                done = redact(content)
            if done is not content:
                message = {**message, "content": done}
        out.append(message)
    return out


def _redact(text: str, literals: tuple[str, ...], configured: re.Pattern[str] | None) -> str:
    # Every character any rule covers is masked, overlapping matches as one: a known secret that
    # is the start of a longer key must not leave the rest of that key showing.
    spans: list[tuple[int, int]] = []
    for secret in literals:
        at = text.find(secret)
        while at >= 0:
            spans.append((at, at + len(secret)))
            at = text.find(secret, at + 1)
    if any(hint in text for hint in _HINTS):
        spans.extend(m.span() for m in _BUILTIN_RE.finditer(text))
    if configured is not None:
        spans.extend(m.span() for m in configured.finditer(text) if m.end() > m.start())
    if not spans:
        return text
    spans.sort()
    parts, done = [], 0
    start, end = spans[0]
    for s, e in spans[1:] + [(len(text) + 1, len(text) + 1)]:
        if s <= end:
            end = max(end, e)
            continue
        parts += [text[done:start], MASK]
        done, (start, end) = end, (s, e)
    parts.append(text[done:])
    return "".join(parts)


def redact_obj(value: Any) -> Any:
    """The same through dicts, lists and tuples (keys are kept, values redacted)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_obj(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_obj(v) for v in value)
    return value


_URI_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^/:@\s]*:)(?P<password>[^@\s/]+)@")


def mask_uri_password(text: str) -> str:
    """`neo4j://user:PASS@host` -> `neo4j://user:***@host` (and the password becomes a known secret)."""

    def mask(match: re.Match[str]) -> str:
        add_secret(match.group("password"))
        return f"{match.group('head')}***@"

    return _URI_PASSWORD.sub(mask, text)


def storable(text: str) -> str:
    """`text` as valid UTF-8 can hold it: a lone surrogate (from undecodable input) becomes U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def is_secret_name(name: str) -> bool:
    """Does a setting or variable called `name` hold a secret (`api_key`, `*_TOKEN`, `password`)?"""
    return bool(_SECRET_NAME.search(name)) or name.lower() in ("api_key", "apikey", "token", "password", "secret")


def holds_secret(text: str) -> bool:
    """Would `redact` change `text`?"""
    return bool(text) and redact(text) != text
