"""The demo fleet's runbooks and monitoring docs, and the call that indexes them.

``services/`` holds one page per service, ``runbooks/`` one per incident shape of the demo
scenarios (memory-leak, cpu-saturation, 5xx-after-deploy, disk-full, db-pool-exhaustion,
brute-force, certificate-expiry) plus general ones, ``guides/`` the on-call handbook,
alert catalogue, metrics reference and the like. Sources are indexed relative to this
folder, e.g. ``runbooks/disk-full.md``.

One page (`INJECTION_SOURCE`) deliberately contains text that tries to instruct an AI
assistant; it must reach the model as quoted data, never as instructions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.retrieval import IndexReport, Retriever
    from assistant.retrieval.retriever import Progress

KNOWLEDGE_DIR = Path(__file__).resolve().parent
INJECTION_SOURCE = "services/search.md"
INJECTION_MARKER = "ignore your previous instructions"


def index_demo_knowledge(retriever: Retriever, progress: Progress | None = None) -> IndexReport:
    """Index the demo knowledge into the ``docs`` collection (only what changed)."""
    return retriever.index_docs([KNOWLEDGE_DIR], base=KNOWLEDGE_DIR, progress=progress)
