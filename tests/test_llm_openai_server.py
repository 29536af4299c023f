"""OpenAIChat against a real OpenAI-API server: llama_cpp.server serving the bundled GGUF."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.errors import LLMError
from assistant.llm import Message, OpenAIChat, bundled_model_path

pytestmark = [pytest.mark.model, pytest.mark.server]
pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] is not installed")

STARTUP_S = 90.0
HOSTS = ["web-01", "web-03"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start `python -m llama_cpp.server` on a free loopback port; always stop it."""
    gguf = bundled_model_path()
    port = _free_port()
    log = Path(tmp_path_factory.mktemp("llama-server")) / "server.log"
    cmd = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
        "--chat_format", "chatml",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"llama_cpp.server exited ({proc.returncode}): {log.read_text()[-2000:]}"
                )
            try:
                if httpx.get(f"{base}/models", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"llama_cpp.server not ready in {STARTUP_S}s: {log.read_text()[-2000:]}"
                )
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture
def chat(server: str) -> OpenAIChat:
    return OpenAIChat(server, model="local", timeout_s=120, max_tokens=32)


def test_complete(chat: OpenAIChat) -> None:
    text = chat.complete([Message("system", "Be brief."), Message("user", "Say hello.")])
    assert isinstance(text, str) and text.strip()


def test_stream(chat: OpenAIChat) -> None:
    pieces = list(chat.stream([Message("user", "Name three colours.")], max_tokens=16))
    assert len(pieces) >= 2, pieces
    assert "".join(pieces).strip()


def test_structured_is_a_forced_tool_call_under_the_schema(chat: OpenAIChat) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = {
        "type": "object",
        "properties": {
            "metric": {"type": "string", "enum": ["node_cpu_usage_percent", "node_load1"]},
            "host": {"type": "string", "enum": HOSTS},
        },
        "required": ["metric", "host"],
        "additionalProperties": False,
    }
    out = chat.structured(
        [Message("user", "What is the CPU usage on web-03?")], schema, name="pick", max_tokens=48
    )
    jsonschema.validate(out, schema)
    assert out["host"] in HOSTS


def test_server_errors_are_llm_errors(chat: OpenAIChat) -> None:
    with pytest.raises(LLMError, match=r"HTTP [45]\d\d"):
        chat.complete([Message("user", "too long " * 3000)])
