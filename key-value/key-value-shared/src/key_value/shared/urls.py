"""Store URLs: one parser for every store, typed query options, and errors that never show a password.

A store's `from_url(url, **options)` parses its URL here, takes the query options that are its own
constructor's (typed by `OptionTypes`), and hands the rest of the URL to its client library where that
library reads URLs itself (redis-py, libpq, nats-py). Every error names the URL with its password
replaced by `***`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from key_value.shared.errors import InvalidArgumentError

#: How each store-level query option is read from its text: `url_bool`, `int`, `float` or `str`.
OptionTypes = Mapping[str, Callable[[str], Any]]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def url_bool(text: str) -> bool:
    """`true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`, any case) as a bool."""
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(text)


def url_seconds_or_none(text: str) -> float | None:
    """A number of seconds, or `none` (any case) for None."""
    return None if text.lower() == "none" else float(text)


_KINDS: dict[Callable[[str], Any], str] = {
    url_bool: "true or false",
    url_seconds_or_none: "a number of seconds or none",
    int: "an integer",
    float: "a number",
    str: "text",
}


def redact_url(url: str) -> str:
    """`url` with the password of its user info (if any) replaced by `***`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    user_info, _, host = parts.netloc.rpartition("@")
    user = user_info.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


@dataclass(frozen=True)
class StoreURL:
    """A parsed store URL. `text` is the URL as given, less the query options taken by `take_options`.

    Its repr shows the URL with the password replaced by `***`.
    """

    text: str
    scheme: str
    host: str | None
    port: int | None
    username: str | None
    password: str | None
    path: str  # percent-decoded, without the leading "/"
    query: dict[str, str]

    def __repr__(self) -> str:
        return f"StoreURL({self.redacted!r})"

    @property
    def redacted(self) -> str:
        """The URL with its password replaced by `***`, for errors and logs."""
        return redact_url(self.text)

    def error(self, message: str) -> InvalidArgumentError:
        """An `InvalidArgumentError` about this URL, naming it without its password."""
        return InvalidArgumentError(message, extra_info={"url": self.redacted})

    def take_options(self, types: OptionTypes) -> tuple[dict[str, Any], StoreURL]:
        """The query options named in `types`, typed, and this URL without them."""
        taken: dict[str, Any] = {}
        for name, value in self.query.items():
            if name not in types:
                continue
            convert = types[name]
            try:
                taken[name] = convert(value)
            except ValueError:
                kind = _KINDS.get(convert, "a valid value")
                raise self.error(f"URL option {name}={value!r} must be {kind}") from None
        if not taken:
            return taken, self
        rest = {name: value for name, value in self.query.items() if name not in taken}
        parts = urlsplit(self.text)
        text = urlunsplit(parts._replace(query=urlencode(rest)))
        return taken, StoreURL(text, self.scheme, self.host, self.port, self.username, self.password, self.path, rest)

    def refuse_other_options(self) -> None:
        """Raise if any query option is left (for stores whose client library reads no URL)."""
        if self.query:
            raise self.error(f"unknown URL option(s): {', '.join(sorted(self.query))}")


def parse_store_url(url: object, *, schemes: Collection[str], shape: str) -> StoreURL:
    """Parse `url`, whose scheme must be one of `schemes`; `shape` says what a good one looks like."""
    if not isinstance(url, str):
        raise InvalidArgumentError(f"url must be a str like {shape}", extra_info={"type": type(url).__name__})
    redacted = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise InvalidArgumentError(
            f"url must look like {shape}", extra_info={"url": redacted, "reason": _without(str(exc), url)}
        ) from None
    if parts.scheme not in schemes:
        known = ", ".join(f"{scheme}://" for scheme in sorted(schemes))
        raise InvalidArgumentError(f"url must look like {shape} (schemes: {known})", extra_info={"url": redacted})
    options: dict[str, str] = {}
    for name, value in query:
        if name in options:
            raise InvalidArgumentError(f"URL option {name} is given twice", extra_info={"url": redacted})
        options[name] = value
    return StoreURL(
        text=url,
        scheme=parts.scheme,
        host=parts.hostname or None,
        port=port,
        username=None if parts.username is None else unquote(parts.username),
        password=None if parts.password is None else unquote(parts.password),
        path=unquote(parts.path[1:] if parts.path.startswith("/") else parts.path),
        query=options,
    )


def merge_options(from_url: Mapping[str, Any], given: Mapping[str, Any], url: StoreURL) -> dict[str, Any]:
    """The URL's options and the keyword options together; one given both ways is an error."""
    both = sorted(set(from_url) & set(given))
    if both:
        raise url.error(f"option(s) given both in the URL and as keywords: {', '.join(both)}")
    return {**from_url, **given}


def _without(message: str, url: str) -> str:
    """`message` with any copy of `url` in it redacted (urllib's errors may quote the netloc)."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    return message.replace(password, "***") if password else message


__all__ = [
    "OptionTypes",
    "StoreURL",
    "merge_options",
    "parse_store_url",
    "redact_url",
    "url_bool",
    "url_seconds_or_none",
]
