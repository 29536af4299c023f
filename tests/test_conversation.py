"""The conversation store shared by several processes (web workers) on one host."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from assistant.conversation import MAX_TURNS, ConversationStore, Turn

WRITER = """
import sys, time
from pathlib import Path
from assistant.conversation import ConversationStore, Turn
store = ConversationStore(Path(sys.argv[1]))
time.sleep(max(0.0, float(sys.argv[4]) - time.time()))  # all workers start together
for i in range(int(sys.argv[3])):
    store.append(sys.argv[5], Turn(question=f"{sys.argv[2]}-{i}", answer="a"))
"""


def _race(db: Path, conv: str, workers: int, each: int) -> None:
    start = time.time() + 3  # after every interpreter has imported the store
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(db), f"w{w}", str(each),
                          str(start), conv], stderr=subprocess.PIPE, text=True)
        for w in range(workers)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors


def test_workers_appending_to_one_conversation_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "conversations.sqlite"
    ConversationStore(db)  # create the schema once, as the server does at start
    _race(db, "shared", workers=4, each=12)  # 48 turns: under the trim limit
    turns = ConversationStore(db).turns("shared")
    assert sorted(t.question for t in turns) == sorted(
        f"w{w}-{i}" for w in range(4) for i in range(12))
    for w in range(4):  # each worker's turns stay in its own order
        mine = [t.question for t in turns if t.question.startswith(f"w{w}-")]
        assert mine == [f"w{w}-{i}" for i in range(12)]
    _race(db, "busy", workers=4, each=150)  # heavy contention: no collisions, no locks
    assert len(ConversationStore(db).turns("busy")) == MAX_TURNS


def test_old_turns_are_trimmed_and_memory_store_works(tmp_path: Path) -> None:
    for store in (ConversationStore(tmp_path / "c.sqlite"), ConversationStore()):
        for i in range(60):
            store.append("c", Turn(question=str(i), answer="a"))
        assert [t.question for t in store.turns("c")] == [str(i) for i in range(10, 60)]
