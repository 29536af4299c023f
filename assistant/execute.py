"""Run planned queries: route each to its connector (or to retrieval), on a time budget.

A failing or slow backend becomes a stated part of the answer (`Executed.error`), never a
crash: the other queries still run and their facts still arrive.

Two budgets bound the waiting: each query gets at most `query_timeout_s`, and all the
queries of one answer share its `Budget` (`answer_budget_s`, counted from when the question
arrived). A query still running when either runs out is given up (its worker thread is left
to the connector's own timeout) and named in the answer; a query whose turn comes after the
answer's budget is spent is not started.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from assistant.errors import BackendTimeout, OpsaError, without_paths
from assistant.facts import LINES_QUOTED, Fact, facts_from_result
from assistant.intent import SEVERITY_SAID, severity_pattern
from assistant.ir import LEVELS, DocQuery, Level, LogQuery, Query
from assistant.models import ChartSeries, QueryRun, SourceOut
from assistant.planner import PlannedQuery
from connectors.base import Connector, Result, Scalar, Series

if TYPE_CHECKING:
    from assistant.services import Services
    from assistant.understand import Understanding

CHART_POINTS = 240


class Budget:
    """The time one answer may take, shared by its queries (monotonic clock)."""

    def __init__(self, total_s: float, start: float | None = None) -> None:
        self.total_s = total_s
        self.deadline = (time.perf_counter() if start is None else start) + total_s

    def left(self) -> float:
        """Seconds left (0 when spent)."""
        return max(0.0, self.deadline - time.perf_counter())

    def timeout(self, per_query_s: float) -> tuple[float, bool]:
        """(seconds the next query may take, whether the answer's budget is what limits
        it rather than the per-query timeout)."""
        left = self.left()
        return (left, True) if left < per_query_s else (per_query_s, False)

    def spent_text(self) -> str:
        return f"the answer's time budget (answer_budget_s = {self.total_s:g} s) ran out"


@dataclass
class Executed:
    planned: PlannedQuery
    connector: str
    native: str = ""
    result: Result | None = None
    error: str | None = None
    elapsed_ms: float = 0.0
    facts: list[Fact] = field(default_factory=list)
    sources: list[SourceOut] = field(default_factory=list)
    doc_texts: list[str] = field(default_factory=list)
    note: str | None = None
    timed_out: bool = False
    """Given up on a time budget (the query's own or the answer's)."""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def query(self) -> Query:
        return self.planned.query

    def error_text(self) -> str:
        return f"{self.connector}: {self.error}"

    def describe(self) -> str:
        return f"{self.planned.why or self.query.kind} ({self.connector})"

    def run_record(self) -> QueryRun:
        return QueryRun(
            connector=self.connector,
            purpose=self.planned.purpose,
            ir=self.query.model_dump(mode="json"),
            native=self.native,
            ok=self.ok,
            error=without_paths(self.error) if self.error else self.error,
            elapsed_ms=round(self.elapsed_ms, 1),
            truncated=bool(self.result and self.result.truncated),
        )

    def summary(self) -> dict[str, Any]:
        rec = self.run_record().model_dump(mode="json")
        if self.result is not None:
            rec["series"] = len(self.result.series)
            rec["rows"] = len(self.result.rows) + len(self.result.logs) + len(self.result.events)
        rec["hits"] = len(self.sources)
        return rec

    def chart(self) -> list[ChartSeries]:
        if self.result is None or self.planned.purpose not in ("main", "context"):
            return []
        out = []
        # the peak first, then the ranked list the answer states, then any other fact's
        spoken = sorted(self.facts, key=lambda f: (f.name != "peak", f.rank is None,
                                                   f.rank or 0))
        for s in focus_first(self.result.series, [f.labels for f in spoken])[:5]:
            pts = s.points
            if len(pts) > CHART_POINTS:
                stride = len(pts) // CHART_POINTS + 1
                pts = pts[::stride]
            label = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())) or s.metric
            out.append(ChartSeries(name=label, unit=self.result.unit, points=pts))
        return out


def focus_first(series: list[Series], focus: list[dict[str, str]]) -> list[Series]:
    """`series` with the ones the facts speak of first (in the facts' order: the peak's,
    then the ranked ones), then the rest as they were, so a chart of the first few shows
    what the answer is about rather than whichever labels sort first."""
    chosen: list[int] = []
    for labels in focus:
        if not labels:
            continue
        for i, s in enumerate(series):
            if i not in chosen and labels.items() <= s.labels.items():
                chosen.append(i)
                break
    return [series[i] for i in chosen] + [s for i, s in enumerate(series) if i not in chosen]


class Executor:
    def __init__(self, services: Services) -> None:
        self.services = services

    def run(self, pq: PlannedQuery, und: Understanding, budget: Budget | None = None
            ) -> Executed:
        """Run one planned query; `budget` is the answer's (shared with its other queries),
        none: only the per-query timeout applies."""
        budget = budget or Budget(float("inf"))
        q = pq.query
        if isinstance(q, DocQuery):
            return self._docs(pq, budget)
        try:
            conn = self.services.connector_for(q)
        except OpsaError as exc:
            return Executed(planned=pq, connector=self.services.settings.backend, error=str(exc))
        ex = Executed(planned=pq, connector=conn.name)
        try:
            ex.native = conn.native(q)
        except OpsaError as exc:
            ex.error = str(exc)
            return ex
        t0 = time.perf_counter()
        try:
            ex.result = self._timed(lambda: conn.run(q), budget, conn.name,
                                    f"{q.kind} query")
        except BackendTimeout as exc:
            ex.error, ex.timed_out = str(exc), True
        except OpsaError as exc:
            ex.error = str(exc)
        if ex.result is not None and isinstance(q, LogQuery):
            bounded = _Bounded(conn, self, budget)
            ex = self._levelless_fallback(ex, q, bounded)
            _without_a_missing_value(ex, bounded)
            _with_first_line(ex, bounded)
        ex.elapsed_ms = (time.perf_counter() - t0) * 1000
        if ex.result is not None:
            ex.native = ex.result.native or ex.native
            index = next((i for i, p in enumerate(und.plan.queries) if p is pq), 0)
            ex.facts = facts_from_result(ex.query, ex.result, index)
        return ex

    def _levelless_fallback(self, ex: Executed, q: LogQuery, conn: Runs) -> Executed:
        """A level filter that matched nothing, over logs that carry no levels at all
        (plain syslog, many app logs), is rerun without it, and the answer says so."""
        res = ex.result
        if q.levels and res is not None:
            return self._levels_said(ex, q, conn)
        if q.level is None or res is None or _matched(res):
            return ex
        share = _unlevelled(q, conn, {})
        if share is None:
            return self._said_not_levelled(ex, q, conn)
        unlevelled, total = share
        if q.text is None and q.pattern is None:
            # "Safari's errors" in a log without levels: the lines that say an error
            words = _said_instead(ex, q, q.level, conn)
            if words is not None:
                ex.note = (f"{unlevelled:,} of {total:,} log lines carry no severity level, so "
                           f"the lines were chosen by their words ({words}), not by level")
                return ex
        if not _rerun(ex, q.model_copy(update={"level": None}), conn):
            return ex
        ex.note = (f"{unlevelled:,} of {total:,} matching log lines carry no severity level, "
                   f"so nothing was at level {q.level} or above; showing all matching lines")
        return ex

    def _said_not_levelled(self, ex: Executed, q: LogQuery, conn: Runs) -> Executed:
        """ "HRESULT error codes" where no line is at level error: the lines searched for
        that say an error in their words (a severity word that named the text, not the
        level), and the answer says that no line was at that level."""
        if q.level is None or (q.text is None and q.pattern is None):
            return ex
        words = _said_instead(ex, q, q.level, conn)
        if words is None:
            _rerun(ex, q, conn)  # nothing either way: the query as asked
            return ex
        ex.note = (f"no matching line was at level {q.level} or above; these are the "
                   f"matching lines whose words say it ({words})")
        return ex

    def _levels_said_in_text(self, ex: Executed, q: LogQuery, conn: Runs) -> Executed:
        """ "how many unrecognized attribute warnings" where the lines searched for are at
        another level (Info lines that say "Warning:"): the lines searched for, without
        the level, and the answer says that none was at that level."""
        if ex.result is None or _matched(ex.result) or (q.text is None and q.pattern is None):
            return ex
        res = ex.result
        unlevelled = q.model_copy(update={"levels": (), "level": None})
        if q.count_by == "level":
            unlevelled = unlevelled.model_copy(update={"count_by": None})
        if _rerun(ex, unlevelled, conn) and ex.result is not None and _matched(ex.result):
            ex.note = (f"no matching line was at level {'/'.join(q.levels)}; these are the "
                       "lines searched for (their words say it, not their level)")
        else:
            ex.result, ex.native = res, res.native
            ex.planned = PlannedQuery(q, ex.planned.purpose, ex.planned.why)
        return ex

    def _levels_said(self, ex: Executed, q: LogQuery, conn: Runs) -> Executed:
        """Lines at exactly the levels asked ("how many errors"), over logs where most lines
        carry no level: the lines whose words say that severity are counted instead, and
        the answer says so (a few levelled lines must not pass for all of the errors)."""
        share = _unlevelled(q, conn, {"levels": (), "text": None, "pattern": None,
                                      "extract": None})
        if share is None:
            return self._levels_said_in_text(ex, q, conn)
        unlevelled, total = share
        words = _severity_words(q.levels, " or ")
        if q.count_by == "level" and q.pattern is None and q.text is None:
            if _each_level_said(ex, q, conn):
                ex.note = (f"{unlevelled:,} of {total:,} log lines carry no severity level, "
                           f"so each level's lines were counted by their words ({words}), "
                           "not by level")
            return ex
        said = q.model_copy(update={"levels": (), "level": None,
                                    "pattern": q.pattern or severity_pattern(q.levels)})
        if said.count_by == "level":
            said = said.model_copy(update={"count_by": "template", "top_k": 5})
        if not _rerun(ex, said, conn):
            return ex
        ex.note = (f"{unlevelled:,} of {total:,} log lines carry no severity level, so the "
                   f"lines were counted by their words ({words}), not by level")
        if q.pattern is not None:  # the words searched for already say what the lines are
            ex.note = (f"{unlevelled:,} of {total:,} log lines carry no severity level; "
                       "the lines were counted by the words searched for, not by level")
        return ex

    def _timed(self, fn: Callable[[], R], budget: Budget, name: str, what: str = "query"
               ) -> R:
        """`fn()` within the per-query timeout and what is left of the answer's budget."""
        limit, by_answer = budget.timeout(self.services.settings.query_timeout_s)
        if limit <= 0:
            raise BackendTimeout(f"the {what} was not run: {budget.spent_text()} before its "
                                 "turn")
        try:
            return _with_budget(fn, limit, name)
        except BackendTimeout:
            if by_answer:
                raise BackendTimeout(f"the {what} timed out: {budget.spent_text()}") from None
            raise

    def _docs(self, pq: PlannedQuery, budget: Budget) -> Executed:
        assert isinstance(pq.query, DocQuery)
        ex = Executed(planned=pq, connector="chroma", native=f"hybrid search: {pq.query.text!r}")
        t0 = time.perf_counter()
        try:
            # opening the store (first use) counts too: a locked or damaged one may stall
            retriever = self._timed(self.services.retriever, budget, "chroma",
                                    "runbook search")
            if retriever is None:
                ex.error = self.services.problems.get("retrieval",
                                                      "retrieval is not configured")
                return ex
            text, k = pq.query.text, pq.query.k
            hits = self._timed(lambda: retriever.search(text, collection="docs", k=k),
                               budget, "chroma", "runbook search")
        except BackendTimeout as exc:
            ex.error, ex.timed_out = str(exc), True
            return ex
        except OpsaError as exc:
            ex.error = str(exc)
            return ex
        finally:
            ex.elapsed_ms = (time.perf_counter() - t0) * 1000
        for h in hits:
            ex.sources.append(SourceOut(source=h.source, heading=h.heading or "",
                                        score=round(float(h.score), 4), collection=h.collection))
            ex.doc_texts.append(h.text)
        return ex


R = TypeVar("R")


class Runs(Protocol):
    """What the log-query follow-ups need of a connector."""

    name: str

    def run(self, query: Query) -> Result: ...


class _Bounded:
    """A connector whose `run` (the follow-up probes and reruns of a log query) stays
    within the answer's budget and the per-query timeout."""

    def __init__(self, conn: Connector, executor: Executor, budget: Budget) -> None:
        self._conn, self._executor, self._budget = conn, executor, budget
        self.name = conn.name

    def run(self, query: Query) -> Result:
        return self._executor._timed(lambda: self._conn.run(query), self._budget, self.name,
                                     f"{query.kind} query")


def _with_budget(fn: Callable[[], R], budget_s: float, name: str) -> R:
    """Run `fn` in a worker thread; past `budget_s` give up with `BackendTimeout`."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=work, daemon=True, name=f"query-{name}")
    worker.start()
    worker.join(budget_s)
    if worker.is_alive():
        raise BackendTimeout(f"the {name} backend did not answer within {budget_s:g} s")
    if "error" in box:
        raise box["error"]
    result: R = box["result"]
    return result


def _each_level_said(ex: Executed, q: LogQuery, conn: Runs) -> bool:
    """ "how many errors and warnings, each", over lines without levels: one count per level
    asked, of the lines whose words say it, as the rows of a count by level (a level no
    line says is counted 0); False (and `ex` untouched) when a count fails."""
    rows: list[dict[str, Scalar]] = []
    natives: list[str] = []
    for lv in q.levels:
        said = q.model_copy(update={"levels": (), "level": None, "count_by": None,
                                    "pattern": severity_pattern([lv]), "limit": 1})
        try:
            res = conn.run(said)
        except OpsaError:
            return False
        rows.append({"value": lv, "count": int(res.total or 0)})
        natives.append(res.native)
    anyone = q.model_copy(update={"levels": (), "level": None,
                                  "pattern": severity_pattern(q.levels)})
    try:  # the lines that say any of them (a line may say two)
        res = conn.run(anyone.model_copy(update={"count_by": None, "limit": 1}))
    except OpsaError:
        return False
    ex.result = res.model_copy(update={
        "rows": sorted(rows, key=lambda r: -int(r["count"] or 0)), "groups": len(rows),
        "logs": [], "native": ";\n".join([*natives, res.native])})
    ex.planned = PlannedQuery(anyone, ex.planned.purpose, ex.planned.why)
    ex.native = ex.result.native
    return True


def _matched(res: Result) -> bool:
    """Whether a result holds any matching line, row or count."""
    return bool(res.total or res.logs or res.rows)


def _severity_words(levels: Sequence[Level], sep: str = "/") -> str:
    """How lines without a level say these severities ("error/fail/fatal/..."), for notes."""
    return sep.join(SEVERITY_SAID[lv].replace("|", "/") for lv in levels)


def _said_instead(ex: Executed, q: LogQuery, level: Level, conn: Runs) -> str | None:
    """Rerun `q` without its minimum `level`, over the lines whose words say that severity
    or worse (its own pattern, when it has one, is kept instead); the words for the note,
    or None when nothing matched that way (`ex` then holds the rerun)."""
    at_least = LEVELS[LEVELS.index(level):]
    said = q.model_copy(update={"level": None})
    if q.pattern is None:
        said = said.model_copy(update={"pattern": severity_pattern(at_least)})
    if _rerun(ex, said, conn) and ex.result is not None and _matched(ex.result):
        return _severity_words(at_least)
    return None


def _without_a_missing_value(ex: Executed, conn: Runs) -> None:
    """ "how many blocks got stored" where no matching line holds the named kind of value
    (HDFS's blk_ ids in a Spark log): the matching lines are counted instead, and the
    answer says that no line held such a value."""
    q, res = ex.planned.query, ex.result
    if not isinstance(q, LogQuery) or res is None or q.extract is None \
            or q.extract.kind in ("regex", "key", "field") or _matched(res) \
            or q.mode() not in ("distinct", "count_by"):
        return
    lines = q.model_copy(update={"extract": None, "count_by": None, "aggregate": "count",
                                 "limit": 5})
    before = ex.planned
    if not _rerun(ex, lines, conn) or ex.result is None or not _matched(ex.result):
        ex.planned, ex.result, ex.native = before, res, res.native
        return
    ex.note = (f"no matching line holds a {q.extract.name.replace('_', ' ')} value; "
               "the matching lines were counted instead")


def _with_first_line(ex: Executed, conn: Runs) -> None:
    """ "show me X" with more lines than are quoted: the newest ones and also the first one
    (when it began), appended after them."""
    q, res = ex.planned.query, ex.result
    if not isinstance(q, LogQuery) or res is None or q.mode() != "lines" \
            or q.order != "newest" or not 1 < q.limit <= LINES_QUOTED \
            or res.total is None or res.total <= len(res.logs) or len(res.logs) < q.limit:
        return
    try:
        first = conn.run(q.model_copy(update={"order": "oldest", "limit": 1}))
    except OpsaError:
        return
    if first.logs and first.logs[0] not in res.logs:
        ex.result = res.model_copy(update={"logs": [*res.logs, first.logs[0]]})


def _rerun(ex: Executed, q: LogQuery, conn: Runs) -> bool:
    """Run `q` in place of `ex`'s query (kept as it was when `q` fails)."""
    try:
        ex.result = conn.run(q)
    except OpsaError:
        return False
    ex.planned = PlannedQuery(q, ex.planned.purpose, ex.planned.why)
    ex.native = ex.result.native
    return True


def _unlevelled(q: LogQuery, conn: Runs, also: dict[str, object]
                ) -> tuple[int, int] | None:
    """(lines without a level, all lines) of `q` without its level filter (and with `also`
    applied), when most of them carry no level; None otherwise or when the probe fails."""
    probe = q.model_copy(update={"level": None, "count_by": "level", "bucket_s": None,
                                 "busiest": None, "aggregate": "count", "top_k": 20, **also})
    try:
        rows = conn.run(probe).rows
    except OpsaError:
        return None
    total = sum(int(r.get("count") or 0) for r in rows)
    unlevelled = sum(int(r.get("count") or 0) for r in rows if r.get("value") is None)
    if not total or unlevelled < total / 2:
        return None
    return unlevelled, total
