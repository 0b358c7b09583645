"""Types the adapter tests store: a model with JSON-unfriendly fields, a strict one, a recursive one, a dataclass."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

WHEN = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)


class User(BaseModel):
    """Fields that are not JSON types until dumped in JSON mode: a datetime, a set, bytes."""

    name: str
    age: int
    joined: datetime.datetime = WHEN
    tags: set[str] = set()
    avatar: bytes = b""


class StrictEvent(BaseModel):
    """Strict validation refuses a str for a datetime in Python mode; JSON-mode reads must still work."""

    model_config = ConfigDict(strict=True)

    at: datetime.datetime
    pair: tuple[int, int]


class Node(BaseModel):
    """A recursive model: its JSON schema is a `$ref`, not an object."""

    name: str
    children: list[Node] = []


class Profile(BaseModel):
    """Fields with aliases, as JSON APIs name them: stored under the field names, read under either."""

    user_name: str = Field(alias="userName")
    display: str = Field(default="", validation_alias="displayName", serialization_alias="shownAs")


@dataclass
class Point:
    x: int
    y: int
    labels: list[str] = field(default_factory=list[str])
