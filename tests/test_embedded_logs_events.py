"""The embedded connector's log and event queries, checked against plain-Python filtering of
the fixture rows; plus read-only access, the time budget and entity validation."""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.errors import BackendTimeout, ConfigError, UnknownEntityError
from assistant.ir import LEVELS, EventQuery, LogQuery, TimeRange
from connectors.embedded import schema
from connectors.embedded.connector import EmbeddedConnector

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LEVEL_NUM: dict[str, int] = {lv: i for i, lv in enumerate(LEVELS)}
TEMPLATES = {
    1: "connection refused to <*>:<*>",
    2: "user <*> logged in from <*>",
    3: "request <*> took <*> ms",
    4: "disk <*>% full on /var/lib_data",
}


@dataclass(frozen=True)
class Line:
    ts: datetime
    service: str
    host: str
    level: str
    message: str
    template_id: int | None


def build_lines() -> list[Line]:
    rng = random.Random(5)
    hosts = {"api": ("h1", "h2"), "web": ("h3",), "db": ("db-1",)}
    out: list[Line] = []
    for i in range(400):
        service = rng.choice(sorted(hosts))
        host = rng.choice(hosts[service])
        ts = END - timedelta(seconds=rng.randint(0, 2 * 3600))
        tid = rng.choice((1, 1, 1, 2, 3, 3, 4, None))
        match tid:
            case 1:
                msg, level = f"Connection refused to 10.0.0.{rng.randint(1, 9)}:5432", "error"
            case 2:
                msg, level = f"user u{rng.randint(1, 99)} logged in from 10.1.{i % 7}.2", "info"
            case 3:
                msg = f"request r{i} took {rng.randint(1, 900)} ms"
                level = rng.choice(("debug", "info", "warn"))
            case 4:
                msg, level = f"disk {rng.randint(90, 99)}% full on /var/lib_data", "fatal"
            case _:
                msg, level = f"panic: goroutine {i} [running]", rng.choice(("trace", "error"))
        out.append(Line(ts, service, host, level, msg, tid))
    # a line exactly on each end of the hour range, and one just outside it
    out.append(Line(END, "api", "h1", "error", "edge at end", None))
    out.append(Line(END - timedelta(hours=1), "api", "h1", "error", "edge at start", None))
    out.append(Line(END - timedelta(hours=1, microseconds=1), "api", "h1", "error", "before", None))
    return out


LINES = build_lines()


@dataclass(frozen=True)
class Ev:
    id: str
    ts: datetime
    end: datetime | None
    kind: str
    service: str | None
    host: str | None
    status: str


def m(minutes: float) -> datetime:
    return END - timedelta(minutes=minutes)


EVENTS = [
    Ev("deploy-old", m(90), None, "deploy", "api", "h1", "succeeded"),
    Ev("inc-overlap", m(180), m(50), "incident", "web", None, "resolved"),
    Ev("alert-ended", m(120), m(100), "alert", "api", "h2", "resolved"),
    Ev("alert-firing", m(180), None, "alert", "api", "h1", "firing"),
    Ev("change-db", m(10), None, "change", "db", "db-1", "applied"),
    Ev("alert-future", END + timedelta(minutes=5), None, "alert", "api", "h1", "firing"),
    Ev("deploy-failed", m(30), None, "deploy", "api", "h2", "failed"),
    Ev("deploy-at-start", m(60), None, "deploy", "web", "h3", "succeeded"),
]


def write_store(path: Path) -> None:
    con = schema.connect(path)
    try:
        for tid, text in TEMPLATES.items():
            con.execute("INSERT INTO log_templates VALUES (?, ?)", [tid, text])
        rows = [
            (ln.ts.replace(tzinfo=None), ln.service, ln.host, ln.level, LEVEL_NUM[ln.level],
             ln.message, ln.template_id,
             int.from_bytes(hashlib.blake2b(f"{i}".encode(), digest_size=7).digest(), "big"))
            for i, ln in enumerate(LINES)
        ]
        con.executemany(
            "INSERT INTO logs (ts, service, host, level, level_num, message, template_id, "
            "line_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        for e in EVENTS:
            con.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [e.id, e.ts.replace(tzinfo=None), e.end.replace(tzinfo=None) if e.end else None,
                 e.kind, e.service, e.host, f"{e.kind} {e.id}", e.status, "warning",
                 '{"source": "test", "n": 1}'],
            )
    finally:
        con.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("emb-logs") / "telemetry.duckdb"
    write_store(path)
    return path


@pytest.fixture(scope="module")
def conn(store: Path) -> Iterator[EmbeddedConnector]:
    c = EmbeddedConnector(store)
    yield c
    c.close()


HOUR = TimeRange(start=END - timedelta(hours=1), end=END)
TWO_HOURS = TimeRange(start=END - timedelta(hours=2), end=END)


def expected(q: LogQuery) -> list[Line]:
    """The matching lines, newest first, by plain Python."""
    out = []
    for ln in LINES:
        if not q.time_range.start <= ln.ts <= q.time_range.end:
            continue
        if (q.service and ln.service != q.service) or (q.host and ln.host != q.host):
            continue
        if q.level and LEVEL_NUM[ln.level] < LEVEL_NUM[q.level]:
            continue
        if q.text and q.text.lower() not in ln.message.lower():
            continue
        if q.pattern and not re.search(q.pattern, ln.message):
            continue
        out.append(ln)
    return sorted(out, key=lambda ln: ln.ts, reverse=True)


# -- log lines ---------------------------------------------------------------------------


@pytest.mark.parametrize("q", [
    LogQuery(time_range=HOUR),
    LogQuery(time_range=HOUR, level="error"),
    LogQuery(time_range=TWO_HOURS, level="warn", service="api"),
    LogQuery(time_range=TWO_HOURS, host="h3", limit=5),
    LogQuery(time_range=TWO_HOURS, text="CONNECTION refused"),
    LogQuery(time_range=TWO_HOURS, text="9% full on /var/lib_d"),  # % and _ are literal
    LogQuery(time_range=TWO_HOURS, text="_"),
    LogQuery(time_range=TWO_HOURS, pattern=r"took [0-9]{3} ms$", service="web"),
    LogQuery(time_range=TWO_HOURS, pattern=r"^user u[1-3]\d\b"),
], ids=lambda q: ",".join(f"{k}={v}" for k, v in q.model_dump(exclude={"time_range", "kind"},
                                                                exclude_defaults=True).items()))
def test_newest_lines_match_python_filtering(conn: EmbeddedConnector, q: LogQuery) -> None:
    want = expected(q)
    assert want, "the fixture must have matching lines"
    r = conn.run(q)
    assert r.total == len(want)
    assert r.truncated == (len(want) > q.limit)
    assert [ln.ts for ln in r.logs] == [ln.ts for ln in want[: q.limit]]
    assert Counter(ln.message for ln in r.logs) == Counter(ln.message for ln in want[: q.limit])
    for ln in r.logs:
        if ln.template_id is not None:
            assert ln.template == TEMPLATES[ln.template_id]
    assert "FROM logs" in r.native and r.connector == "embedded"


def test_time_range_is_inclusive_at_both_ends(conn: EmbeddedConnector) -> None:
    msgs = {ln.message for ln in conn.run(LogQuery(time_range=HOUR, limit=1000,
                                                   text="edge")).logs}
    assert msgs == {"edge at end", "edge at start"}
    assert not conn.run(LogQuery(time_range=HOUR, text="before")).logs


# -- counts ------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["service", "host", "level"])
@pytest.mark.parametrize("top_k", [2, 10])
def test_count_by_field(conn: EmbeddedConnector, field: str, top_k: int) -> None:
    q = LogQuery(time_range=TWO_HOURS, level="debug", count_by=field,
                 top_k=top_k)
    counts = Counter(getattr(ln, field) for ln in expected(q))
    want = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    r = conn.run(q)
    assert [(row["value"], row["count"]) for row in r.rows] == want[:top_k]
    assert r.total == sum(counts.values()) and r.truncated == (len(counts) > top_k)
    lines = sum(counts.values())
    assert r.rows[0]["share"] == pytest.approx(want[0][1] / lines, abs=1e-6)


def test_count_by_template_groups_lines_that_differ_in_numbers(conn: EmbeddedConnector) -> None:
    q = LogQuery(time_range=TWO_HOURS, level="error", count_by="template", top_k=3)
    lines = expected(q)
    counts = Counter(ln.template_id for ln in lines)
    r = conn.run(q)
    top = r.rows[0]
    tid, n = counts.most_common(1)[0]
    assert (top["template_id"], top["count"]) == (tid, n)
    assert top["template"] == top["value"] == TEMPLATES[1]
    newest = max(ln.ts for ln in lines if ln.template_id == tid)
    assert top["example"] in {ln.message for ln in lines
                              if ln.template_id == tid and ln.ts == newest}
    assert top["last_ts"] == max(ln.ts for ln in lines if ln.template_id == tid).isoformat()
    assert sum(int(row["count"] or 0) for row in r.rows) <= len(lines)
    assert r.total == len(lines)
    untemplated = [row for row in r.rows if row["template_id"] is None]
    for row in untemplated:  # no mined template: the newest example stands in
        assert row["value"] == row["example"]


def test_bucket_counts_include_empty_buckets(conn: EmbeddedConnector) -> None:
    q = LogQuery(time_range=HOUR, service="web", level="warn", bucket_s=600)
    lines = expected(q)
    want = [0] * 6
    for ln in lines:
        i = min(5, int((ln.ts - HOUR.start).total_seconds() // 600))
        want[i] += 1
    r = conn.run(q)
    (s,) = r.series
    assert s.metric == "log_lines"
    assert [t for t, _ in s.points] == [HOUR.start + timedelta(minutes=10 * i) for i in range(6)]
    assert [v for _, v in s.points] == want
    assert r.total == len(lines)


# -- events ------------------------------------------------------------------------------


def expected_events(q: EventQuery) -> list[str]:
    out = []
    for e in EVENTS:
        open_ = e.end is None and e.status == "firing"
        if e.ts > q.time_range.end:
            continue
        if not open_ and (e.end or e.ts) < q.time_range.start:
            continue
        if q.kinds and e.kind not in q.kinds:
            continue
        if (q.service and e.service != q.service) or (q.host and e.host != q.host):
            continue
        if q.status and e.status != q.status:
            continue
        out.append(e)
    return [e.id for e in sorted(out, key=lambda e: (-e.ts.timestamp(), e.id))]


@pytest.mark.parametrize("q", [
    EventQuery(time_range=HOUR),
    EventQuery(time_range=HOUR, kinds=("alert", "incident")),
    EventQuery(time_range=TWO_HOURS, kinds=("deploy",), service="api"),
    EventQuery(time_range=TWO_HOURS, host="h1"),
    EventQuery(time_range=TWO_HOURS, status="firing"),
    EventQuery(time_range=TimeRange(start=m(200), end=END), limit=2),
], ids=lambda q: ",".join(f"{k}={v}" for k, v in q.model_dump(exclude={"time_range", "kind"},
                                                                exclude_defaults=True).items()))
def test_events_overlapping_the_range(conn: EmbeddedConnector, q: EventQuery) -> None:
    want = expected_events(q)
    assert want
    r = conn.run(q)
    assert [e.id for e in r.events] == want[: q.limit]
    assert r.total == len(want) and r.truncated == (len(want) > q.limit)
    first = r.events[0]
    assert first.ts.tzinfo is not None and first.attrs == {"source": "test", "n": 1}


def test_events_in_the_last_hour(conn: EmbeddedConnector) -> None:
    ids = {e.id for e in conn.run(EventQuery(time_range=HOUR)).events}
    # overlapping incident, still-firing alert, a point event on the range start; not the
    # deploy 90 min ago, the alert that ended before, or the future one
    assert ids == {"inc-overlap", "alert-firing", "change-db", "deploy-failed",
                   "deploy-at-start"}


# -- validation, read-only, time budget ---------------------------------------------------------


def test_unknown_service_and_host_suggest_names(conn: EmbeddedConnector) -> None:
    with pytest.raises(UnknownEntityError, match="did you mean 'api'") as err:
        conn.run(LogQuery(time_range=HOUR, service="apii"))
    assert err.value.kind == "service"
    with pytest.raises(UnknownEntityError, match="host"):
        conn.run(EventQuery(time_range=HOUR, host="h7"))
    with pytest.raises(UnknownEntityError):
        conn.native(LogQuery(time_range=HOUR, host="db-2"))


def test_store_is_opened_read_only(conn: EmbeddedConnector, store: Path) -> None:
    import duckdb

    before = hashlib.sha256(store.read_bytes()).hexdigest()
    conn.run(LogQuery(time_range=HOUR, count_by="service"))
    conn.run(EventQuery(time_range=HOUR))
    with pytest.raises(duckdb.Error, match="read-only"):
        conn._connection().execute("DELETE FROM logs")
    with pytest.raises(duckdb.Error, match="read-only"):
        conn._connection().cursor().execute("CREATE TABLE x (a INT)")
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before


def test_a_slow_statement_is_interrupted(store: Path) -> None:
    c = EmbeddedConnector(store, timeout_s=0.2)
    try:
        with pytest.raises(BackendTimeout, match=r"0\.2s"):
            c._execute("SELECT count(*) FROM range(100000000) a, range(100000000) b "
                       "WHERE a.range + b.range = -1")
        assert c.run(EventQuery(time_range=HOUR)).events  # still usable afterwards
    finally:
        c.close()


def test_missing_store_says_how_to_create_it(tmp_path: Path) -> None:
    c = EmbeddedConnector(tmp_path / "nothing.duckdb")
    with pytest.raises(ConfigError, match="opsa demo"):
        c.catalog()
