"""Prompts are files in `prompts/`, rendered strictly with Jinja2.

A template that uses a variable the caller did not pass is an error (`StrictUndefined`),
never an empty string. Text from logs, documents or users that reaches a model goes
through the `data` filter, which fences it as delimited data and neutralises any fence
markers inside it, so the text cannot close its own fence and pose as instructions.

A template may hold several chat messages: a line ``### system``, ``### user`` or
``### assistant`` starts a message with that role (`render_chat`). A template without
such lines is one user message.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal

import jinja2
import jinja2.meta

from assistant.errors import ConfigError

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
"""Where the prompt files live (the repository's `prompts/` folder)."""

SUFFIXES = (".j2", ".md")
Role = Literal["system", "user", "assistant"]
_ROLES: dict[str, Role] = {"system": "system", "user": "user", "assistant": "assistant"}
_ROLE_LINE = re.compile(r"^### (system|user|assistant)[ \t]*$", re.MULTILINE)
_FENCE_OPEN = "<<<DATA"
_FENCE_CLOSE = "DATA>>>"
_LABEL = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def fence(text: object, label: str = "data") -> str:
    """`text` as a delimited data block labelled `label` (the `data` filter in templates).

    Fence markers and role lines inside the text are defused, so the text can neither end
    the block early nor start a new chat message.
    """
    if not _LABEL.match(label):
        raise ValueError(f"data label {label!r} must be lowercase letters, digits, '_' or '-'")
    body = str(text)
    body = body.replace(_FENCE_OPEN, "<< <DATA").replace(_FENCE_CLOSE, "DATA> >>")
    body = _ROLE_LINE.sub(lambda m: "#\u200b## " + m.group(1), body)
    return f"{_FENCE_OPEN} {label}\n{body}\n{_FENCE_CLOSE}"


@cache
def _environment(directory: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # prompts are plain text, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["data"] = fence
    return env


class PromptLibrary:
    """The prompt files of one folder (the module functions use `PROMPTS_DIR`)."""

    def __init__(self, directory: Path = PROMPTS_DIR) -> None:
        self.directory = directory

    def names(self) -> list[str]:
        """Names (file names without suffix) of every prompt, sorted."""
        if not self.directory.is_dir():
            raise ConfigError(
                f"prompt folder {self.directory} does not exist; reinstall Ops Assistant"
            )
        return sorted(
            p.stem for p in self.directory.iterdir() if p.suffix in SUFFIXES and p.is_file()
        )

    def _file_name(self, name: str) -> str:
        for suffix in SUFFIXES:
            if (self.directory / f"{name}{suffix}").is_file():
                return f"{name}{suffix}"
        known = ", ".join(self.names()) or "none"
        raise ConfigError(f"no prompt named {name!r} in {self.directory}; known prompts: {known}")

    def variables(self, name: str) -> set[str]:
        """The variables prompt `name` uses (each one must be passed to render it)."""
        env = _environment(self.directory)
        source = (self.directory / self._file_name(name)).read_text(encoding="utf-8")
        return set(jinja2.meta.find_undeclared_variables(env.parse(source)))

    def render(self, name: str, /, **variables: object) -> str:
        """Render prompt `name` with `variables`; a missing variable is a ConfigError."""
        template = _environment(self.directory).get_template(self._file_name(name))
        try:
            return template.render(**variables).strip()
        except jinja2.UndefinedError as exc:
            raise ConfigError(
                f"prompt {name!r} needs a variable that was not passed: {exc.message}; "
                f"passed: {sorted(variables) or 'none'}"
            ) from None

    def render_chat(self, name: str, /, **variables: object) -> list[tuple[Role, str]]:
        """Render prompt `name` and split it into ``(role, text)`` chat messages."""
        text = self.render(name, **variables)
        marks = list(_ROLE_LINE.finditer(text))
        if not marks:
            return [("user", text)]
        if text[: marks[0].start()].strip():
            raise ConfigError(f"prompt {name!r} has text before its first '### <role>' line")
        out: list[tuple[Role, str]] = []
        for i, mark in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
            body = text[mark.end() : end].strip()
            if not body:
                raise ConfigError(f"prompt {name!r} has an empty '### {mark.group(1)}' message")
            out.append((_ROLES[mark.group(1)], body))
        return out


_DEFAULT = PromptLibrary()


def list_prompts() -> list[str]:
    """Names of every prompt in `prompts/`."""
    return _DEFAULT.names()


def prompt_variables(name: str) -> set[str]:
    """The variables prompt `name` uses."""
    return _DEFAULT.variables(name)


def render(name: str, /, **variables: object) -> str:
    """Render prompt `name` (e.g. ``"plan"``) strictly; a missing variable is a ConfigError."""
    return _DEFAULT.render(name, **variables)


def render_chat(name: str, /, **variables: object) -> list[tuple[Role, str]]:
    """Render prompt `name` into ``(role, text)`` chat messages (see module docstring)."""
    return _DEFAULT.render_chat(name, **variables)
