"""Time `opsa index` of one folder of documents with the default settings.

Indexes FOLDER into a fresh temporary data dir (deleted afterwards; nothing is written
into the repository or the folder) and prints chunks, seconds, chunks per second and the
time spent embedding, then one JSON line with the same figures.

    python benchmarks/bench_index.py /work/shared/data/runbooks/openshift
    python benchmarks/bench_index.py FOLDER --passage-tokens 0   # embed whole passages

``--passage-tokens`` overrides `assistant.retrieval.retriever.DOC_EMBED_TOKENS` (how much
of each chunk is embedded; 0 = everything, as before that budget existed) to compare
against the old behaviour on the same machine. Run it twice in a row and read the second
figure when the machine is shared: the first run also pays for loading the model.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def run(folder: Path, passage_tokens: int | None) -> dict[str, object]:
    from assistant.embedder import get_embedder
    from assistant.retrieval import Retriever
    from assistant.retrieval import retriever as retriever_mod
    from assistant.settings import load_settings

    if passage_tokens is not None:
        retriever_mod.DOC_EMBED_TOKENS = passage_tokens
    tmp = Path(tempfile.mkdtemp(prefix="opsa-bench-index-"))
    try:
        settings = load_settings(data_dir=tmp / "data")
        t_load = time.perf_counter()
        get_embedder(settings.chroma.embedder).embed_query("warm up")
        load_s = time.perf_counter() - t_load
        t0 = time.perf_counter()
        report = Retriever(settings).index_docs([folder], base=folder)
        seconds = time.perf_counter() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "folder": str(folder),
        "embedder": settings.chroma.embedder,
        "passage_tokens": retriever_mod.DOC_EMBED_TOKENS,
        "files": report.added,
        "skipped": len(report.skipped),
        "chunks": report.chunks,
        "embedded": report.embedded,
        "seconds": round(seconds, 2),
        "embed_s": round(report.embed_s, 2),
        "chunks_per_s": round(report.chunks / seconds, 2) if seconds else None,
        "model_load_s": round(load_s, 2),
        "cpus": os.cpu_count(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--passage-tokens", type=int, default=None,
                    help="tokens of each chunk to embed (0 = all); default: the built-in budget")
    args = ap.parse_args()
    if not args.folder.is_dir():
        ap.error(f"{args.folder} is not a directory")
    res = run(args.folder.resolve(), args.passage_tokens)
    print(f"chunks {res['chunks']} ({res['embedded']} embedded)  files {res['files']}  "
          f"skipped {res['skipped']}")
    print(f"seconds {res['seconds']}  (embedding {res['embed_s']})  "
          f"chunks/s {res['chunks_per_s']}  passage tokens {res['passage_tokens'] or 'all'}  "
          f"load avg {res['loadavg_1m']}")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
