"""Answers from facts: template sentences in the question's language (English or Korean).

Every answer states the time window and timezone, says plainly when there is no data, names
the backends that failed, and lists the queries run and the sources used. The templates are
data (`TEMPLATES`, `LIST_TEMPLATES`, ...), keyed by fact name and language; a template field
that is not a standard one names a sibling fact of the same query and labels
(``{baseline}`` in the onset sentence is the baseline fact's display).

Untrusted text (log lines, documents, event titles) reaches a model only through
`as_data_block`, which fences it so that it reads as data, never as instructions.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, cast
from zoneinfo import ZoneInfo

from assistant.derived import SUBJECTS as DERIVED_SUBJECTS
from assistant.errors import OpsaError, without_paths
from assistant.facts import (
    SAMPLES,
    SIGNED,
    Fact,
    fact_names_in,
    format_change,
    format_clock,
    format_value,
    spans_days,
    zone,
)
from assistant.ir import TimeRange
from assistant.language import LANGUAGES, Language, has_final_consonant

# ------------------------------------------------------------------------- tables

Templates = dict[str, dict[Language, str]]

TEMPLATES: Templates = {
    "peak": {"en": "{Subject}{where} peaked at {display} at {time}.",
             "ko": "{where_ko}{subject} 최대값은 {time}에 {display}{copula}"},
    "min": {"en": "{Subject}{where} was lowest at {display} at {time}.",
            "ko": "{where_ko}{subject} 최소값은 {time}에 {display}{copula}"},
    "average": {"en": "{Subject}{where} averaged {display}.",
                "ko": "{where_ko}{subject} 평균은 {display}{copula}"},
    "last": {"en": "The latest {subject}{where} was {display} at {time}.",
             "ko": "{where_ko}{subject} 최근 값은 {time} 기준 {display}{copula}"},
    "value": {"en": "{Subject}{where} was {display}.",
              "ko": "{where_ko}{subject} 값은 {display}{copula}"},
    "total": {"en": "{Subject}{where} totalled {display}.",
              "ko": "{where_ko}{subject} 합계는 {display}{copula}"},
    "peak@samples": {"en": "{Subject}{where} peaked at {display} at {time} (peak of the "
                           "{sample_count} raw samples).",
                     "ko": "{where_ko}{subject} 최대값은 원시 샘플 {sample_count}개 중 {time}의 "
                           "{display}{copula}"},
    "min@samples": {"en": "{Subject}{where} was lowest at {display} at {time} (minimum of "
                          "the {sample_count} raw samples).",
                    "ko": "{where_ko}{subject} 최소값은 원시 샘플 {sample_count}개 중 {time}의 "
                          "{display}{copula}"},
    "average@samples": {"en": "{Subject}{where} averaged {display} (mean of {sample_count} "
                              "samples).",
                        "ko": "{where_ko}{subject} 평균은 샘플 {sample_count}개의 평균 "
                              "{display}{copula}"},
    "total@samples": {"en": "{Subject}{where} totalled {display} (sum of {sample_count} "
                            "samples).",
                      "ko": "{where_ko}{subject} 합계는 샘플 {sample_count}개의 합 "
                            "{display}{copula}"},
    "quantile": {"en": "{Subject}{where} was {display} (over the {sample_count} raw samples).",
                 "ko": "{where_ko}{subject} 값은 원시 샘플 {sample_count}개 기준 "
                       "{display}{copula}"},
    "above_count": {"en": "{Subject}{where} was above {threshold} in {display} of the "
                          "{sample_count} raw samples, about {above_time} in total.",
                    "ko": "{where_ko}{subject} 값이 {threshold}보다 큰 샘플은 {sample_count}개 "
                          "중 {display}개, 모두 약 {above_time}입니다."},
    "bucket_change": {"en": "By mean per {period_word}, {subject}{where} changed by {display} "
                            "from {first_period} ({bucket_first_mean}) to {period} "
                            "({bucket_last_mean}).",
                      "ko": "{period_word}별 평균으로 {where_ko}{subject} 값은 {first_period}"
                            "({bucket_first_mean})에서 {period}({bucket_last_mean})까지 "
                            "{display} 변했습니다."},
    "onset": {"en": "{Subject}{where} departed from its baseline of {baseline} at {time} "
                    "({display} at that point).",
              "ko": "{where_ko}{subject} 값이 {time}부터 기준선 {baseline}에서 벗어나기 "
                    "시작했습니다({display})."},
    "change_vs_previous": {
        "en": "Compared with the previous window of the same length (average "
              "{previous_average}), {subject}{where} changed by {display}.",
        "ko": "직전 같은 길이의 기간(평균 {previous_average})과 비교하면 {where_ko}{subject} "
              "변화는 {display}{copula}"},
    "series_count": {"en": "The data covers {display} series.",
                     "ko": "데이터는 {display}개 시계열입니다."},
    "count@logs": {"en": "{display} log lines matched{where}.",
                   "ko": "{where_ko}일치하는 로그는 {display}건입니다."},
    "count@events": {"en": "{display} events{where} in the window.",
                     "ko": "기간 내 {where_ko}이벤트는 {display}건입니다."},
    "first_seen": {"en": "The first matching log line was at {time}.",
                   "ko": "첫 로그는 {time}에 기록되었습니다."},
    "last_seen": {"en": "The last matching log line was at {time}.",
                  "ko": "마지막 로그는 {time}에 기록되었습니다."},
    "first_occurrence": {"en": "The first matching log line was at {display}{where}: "
                               "\u201c{text}\u201d.",
                         "ko": "처음 일치한 로그는 {display}{origin_ko}: \u201c{text}\u201d."},
    "last_occurrence": {"en": "The last matching log line was at {display}{where}: "
                              "\u201c{text}\u201d.",
                        "ko": "마지막으로 일치한 로그는 {display}{origin_ko}: \u201c{text}\u201d."},
    "distinct_count": {"en": "{display} distinct {field} among the {count} matching log "
                             "lines{where}.",
                       "ko": "{where_ko}일치하는 로그 {count}건에서 서로 다른 {field}: "
                             "{display}개."},
    "no_data": {"en": "No data for {subject}{where} in this window.",
                "ko": "이 기간에 {where_ko}{subject} 데이터가 없습니다."},
    "no_data@logs": {"en": "No log lines matched{where} in this window.",
                     "ko": "이 기간에 {where_ko}일치하는 로그가 없습니다."},
    "no_data@events": {"en": "No events{where} in this window.",
                       "ko": "이 기간에 {where_ko}이벤트가 없습니다."},
    "line_count": {"en": "{display} log lines matched{where}.",
                   "ko": "{where_ko}일치하는 로그는 {display}건입니다."},
    "period_diff": {"en": "{period} was higher, by {display}.",
                    "ko": "{period}의 값이 {display} 더 큽니다."},
}
"""One sentence per fact; key "name@kind" (kind: metric, logs, events) wins over "name"."""

LIST_TEMPLATES: Templates = {
    "top": {"en": "Highest {subject}{basis}: {items}.",
            "ko": "{subject}{basis} 상위: {items}."},
    "bottom": {"en": "Lowest {subject}{basis}: {items}.",
               "ko": "{subject}{basis} 하위: {items}."},
    "top@logs": {"en": "Most frequent log {key}: {items}.",
                 "ko": "로그가 가장 많은 {key}: {items}."},
    "event": {"en": "Events: {items}.", "ko": "이벤트: {items}."},
    "busiest": {"en": "Busiest {period_word} by log lines: {items}.",
                "ko": "로그가 가장 많은 {period_word}: {items}."},
    "bucket_sum": {"en": "Sum of {subject}{where} per {period_word}: {items}.",
                   "ko": "{where_ko}{subject} {period_word}별 합계: {items}."},
    "bucket_mean": {"en": "Mean of {subject}{where} per {period_word}: {items}.",
                    "ko": "{where_ko}{subject} {period_word}별 평균: {items}."},
    "line": {"en": "The lines, {basis}:\n{items}", "ko": "해당 로그 ({basis}):\n{items}"},
    "event_start": {"en": "Each started at: {items} (\u201c{text}\u201d).",
                    "ko": "시작 시각: {items} (\u201c{text}\u201d)."},
    "period_sum": {"en": "Sum of {subject}{where} by period: {items}.",
                   "ko": "{where_ko}{subject} 기간별 합계: {items}."},
    "period_mean": {"en": "Mean of {subject}{where} by period: {items}.",
                    "ko": "{where_ko}{subject} 기간별 평균: {items}."},
    "period_peak": {"en": "Peak of {subject}{where} by period: {items}.",
                    "ko": "{where_ko}{subject} 기간별 최대값: {items}."},
    "period_min": {"en": "Minimum of {subject}{where} by period: {items}.",
                   "ko": "{where_ko}{subject} 기간별 최소값: {items}."},
    "period_quantile": {"en": "{Subject}{where} by period: {items}.",
                        "ko": "{where_ko}{subject} 기간별 값: {items}."},
}
"""One sentence for all ranked facts (or events) of a query, joining `ITEM_TEMPLATES`."""

ITEM_TEMPLATES: dict[str, str] = {
    "top": "{item} {display}",
    "bottom": "{item} {display}",
    "top@logs": "{item} ({display})",
    "busiest": "{period} ({display})",
    "event": "{time} {kind}{target}: \u201c{display}\u201d{status}",
    "bucket_sum": "{period} {display}",
    "bucket_mean": "{period} {display}",
    "event_start": "{display}",
    **{name: "{period} {display}" for name in ("period_sum", "period_mean", "period_peak",
                                               "period_min", "period_quantile")},
    "line": "- {display} `{item}`: \u201c{text}\u201d",
}
LIST_JOINERS: dict[str, str] = {"event": "; ", "line": "\n"}
FIRST_LINE: dict[Language, str] = {"en": "first:", "ko": "처음:"}
LIST_JOINER = ", "

PERIOD_WORDS: dict[str, dict[Language, str]] = {
    "day": {"en": "day", "ko": "날"},
    "hour": {"en": "hour", "ko": "시간"},
    "minute": {"en": "minute", "ko": "분"},
}
"""What one bucket of a per-day / per-hour list is called (`Fact.basis`)."""

BASIS_PHRASES: dict[str, dict[Language, str]] = {
    "average": {"en": " (window average)", "ko": " (기간 평균)"},
    "newest": {"en": "newest first", "ko": "최신순"},
    "oldest": {"en": "oldest first", "ko": "오래된 순"},
}
KEY_PHRASES: dict[str, dict[Language, str]] = {
    "template": {"en": "messages", "ko": "메시지"},
    "service": {"en": "services", "ko": "서비스"},
    "host": {"en": "hosts", "ko": "호스트"},
    "level": {"en": "levels", "ko": "레벨"},
    "message": {"en": "messages", "ko": "메시지"},
    "ipv4": {"en": "IP addresses", "ko": "IP 주소"},
    "ip_port": {"en": "addresses", "ko": "주소"},
    "mac": {"en": "MAC addresses", "ko": "MAC 주소"},
    "user": {"en": "users", "ko": "사용자"},
    "block_id": {"en": "blocks", "ko": "블록"},
    "request_id": {"en": "requests", "ko": "요청"},
    "session_id": {"en": "sessions", "ko": "세션"},
    "uuid": {"en": "ids", "ko": "ID"},
    "hex_id": {"en": "ids", "ko": "ID"},
    "pid": {"en": "process ids", "ko": "PID"},
    "port": {"en": "ports", "ko": "포트"},
    "status_code": {"en": "status codes", "ko": "상태 코드"},
    "number": {"en": "numbers", "ko": "숫자"},
    "value": {"en": "values", "ko": "값"},
}
"""What the values of a log field (a column or an extracted value) are called."""

SUBJECTS: dict[str, dict[Language, str]] = {
    "node_cpu_usage_percent": {"en": "CPU usage", "ko": "CPU 사용률"},
    "node_cpu_seconds_total": {"en": "CPU time", "ko": "CPU 시간"},
    "node_memory_usage_percent": {"en": "memory usage", "ko": "메모리 사용률"},
    "node_memory_MemAvailable_bytes": {"en": "available memory", "ko": "사용 가능한 메모리"},
    "node_filesystem_usage_percent": {"en": "disk usage", "ko": "디스크 사용률"},
    "node_filesystem_avail_bytes": {"en": "free disk space", "ko": "디스크 여유 공간"},
    "node_load1": {"en": "load average", "ko": "부하 평균"},
    "node_network_receive_bytes_total": {"en": "network received bytes",
                                         "ko": "네트워크 수신량"},
    "node_network_transmit_bytes_total": {"en": "network sent bytes", "ko": "네트워크 송신량"},
    "http_requests_total": {"en": "HTTP requests", "ko": "HTTP 요청"},
    "http_request_duration_seconds_bucket": {"en": "request latency", "ko": "요청 지연 시간"},
    "http_request_duration_seconds": {"en": "request latency", "ko": "요청 지연 시간"},
    "db_pool_connections_in_use": {"en": "DB pool connections in use",
                                   "ko": "사용 중인 DB 풀 연결"},
    "db_pool_connections_max": {"en": "DB pool size", "ko": "DB 풀 최대 연결 수"},
    "process_resident_memory_bytes": {"en": "process memory (RSS)",
                                      "ko": "프로세스 메모리(RSS)"},
    "auth_login_failures_total": {"en": "login failures", "ko": "로그인 실패"},
    "tls_certificate_expiry_seconds": {"en": "time to certificate expiry",
                                       "ko": "인증서 만료까지 남은 시간"},
    "logs": {"en": "matching log lines", "ko": "일치하는 로그 수"},
    "events": {"en": "events", "ko": "이벤트"},
    **DERIVED_SUBJECTS,
}
"""Readable names for well-known metrics (and the derived ones, `assistant.derived`); any
other metric is named as is."""

FUNCTION_PHRASES: dict[str, dict[Language, str]] = {
    "rate": {"en": "rate of {s}", "ko": "초당 {s}"},
    "increase": {"en": "increase in {s}", "ko": "{s} 증가량"},
    "delta": {"en": "change in {s}", "ko": "{s} 변화량"},
    "quantile": {"en": "{q} {s}", "ko": "{s} {q}"},
}

PHRASES: dict[str, dict[Language, str]] = {
    "window": {"en": "Time window: {range} {tz}.", "ko": "조회 기간: {range} {tz}."},
    "no_data": {"en": "No data matched this question in the time window.",
                "ko": "이 기간에 질문과 일치하는 데이터가 없습니다."},
    "backend_error": {"en": "The {backend} backend did not answer: {message}.",
                      "ko": "{backend} 백엔드가 응답하지 않았습니다: {message}."},
    "error": {"en": "A query failed: {message}.", "ko": "쿼리 하나가 실패했습니다: {message}."},
    "queries": {"en": "Queries run:", "ko": "실행한 쿼리:"},
    "sources": {"en": "Sources:", "ko": "출처:"},
}

RENDER_ORDER: tuple[str, ...] = (
    "no_data", "period_sum", "period_mean", "period_peak", "period_min", "period_quantile",
    "period_diff", "value", "peak", "quantile", "above_count", "average", "min", "last", "total",
    "bucket_sum", "bucket_mean", "bucket_change", "first_occurrence", "last_occurrence",
    "busiest", "distinct_count", "line_count", "line", "top", "bottom", "count", "onset",
    "change_vs_previous", "first_seen", "last_seen", "event", "event_start", "series_count",
)
"""Sentence order within one query's facts (facts the question asks about come first): an
operation's own result (first line, busiest period, distinct count, top values) before the
number of lines it covered."""
OPTIONAL = frozenset({"min", "last", "series_count"})
"""Rendered only when the question asks for them (see `facts.FACT_KEYWORDS`)."""
PER_SERIES = frozenset({"peak", "average", "min", "last", "value", "total",
                        "change_vs_previous"})
"""Per-series facts left out when the query has several series (the ranked list says it)."""
PERIOD_LISTS = frozenset({"period_sum", "period_mean", "period_peak", "period_min",
                          "period_quantile"})
"""One statistic of periods compared ("on May 3 or May 4"), each period's value in turn."""
LIST_NAMES = frozenset({"top", "bottom", "event", "bucket_sum", "bucket_mean", "busiest",
                        "line", "event_start", *PERIOD_LISTS})
_RANKINGS = frozenset({"top", "bottom", "event"})

_STANDARD_FIELDS = frozenset({
    "subject", "Subject", "where", "where_ko", "display", "time", "copula", "basis", "items",
    "key", "period", "period_word", "first_period", "text", "field", "origin_ko",
})
TEXT_MAX = 200
"""A log line quoted in an answer is cut to this many characters."""
EXAMPLE_MAX = 160
"""An example line beside a template in a ranking is shown only up to this length."""
_KO_DIGIT_BATCHIM = frozenset("013678")  # 영 일 삼 육 칠 팔 end in a consonant
_T = TypeVar("_T")
_BACKEND_ERROR = re.compile(r"^([A-Za-z][\w.-]{0,40}):\s*(.+)$", re.DOTALL)


# ------------------------------------------------------------------------ results


class SourceLike(Protocol):
    """A runbook hit: its path and heading (e.g. `assistant.models.SourceOut`)."""

    @property
    def source(self) -> str: ...

    @property
    def heading(self) -> str: ...


Source = str | SourceLike


def source_line(source: Source) -> str:
    """ "runbooks/disk-full.md — Free space" for a hit; a string as is."""
    if isinstance(source, str):
        return source
    return f"{source.source} — {source.heading}" if source.heading else source.source


def as_language(language: str) -> Language:
    """`language` checked against the templates' languages."""
    if language not in LANGUAGES:
        raise OpsaError(f"no answer templates for language {language!r}; use one of {LANGUAGES}")
    return cast(Language, language)


@dataclass(frozen=True)
class ComposedAnswer:
    """A template answer in parts, so an LLM may rephrase `facts_text` and nothing else."""

    language: Language
    window: str
    fact_sentences: tuple[str, ...]
    """The headline: the facts that answer the question."""
    error_sentences: tuple[str, ...]
    notes: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    """Supporting facts (the rest of a ranked list's context, statistics not asked for,
    context queries), stated after the window and notes."""
    queries: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    allowed: tuple[str, ...] = field(default=(), repr=False)
    """Text whose numbers an answer may repeat (question, errors, sources): pass it to
    grounding as `extra_allowed`. Query texts are not in it: the appendix is code-written."""

    @property
    def facts_text(self) -> str:
        """Headline and evidence: everything the facts say (what an LLM may rephrase)."""
        return "\n".join((*self.fact_sentences, *self.evidence))

    def text(self, facts_text: str | None = None) -> str:
        """The whole answer; `facts_text` (e.g. grounded LLM phrasing) replaces the facts."""
        if facts_text is None:
            body, evidence = "\n".join(self.fact_sentences), self.evidence
        else:
            body, evidence = facts_text.strip(), ()
        # The headline (what was found) first; then the window and assumptions it rests on,
        # then the evidence behind it.
        parts = [*([body] if body else []), *self.error_sentences,
                 *([self.window] if self.window else []), *self.notes, *evidence]
        out = "\n".join(parts)
        for title, lines in (("queries", self.queries), ("sources", self.sources)):
            if lines:
                out += "\n\n" + PHRASES[title][self.language] + "\n"
                out += "\n".join(f"- {line}" for line in lines)
        return out


def compose_answer(
    question: str,
    language: str,
    time_range: TimeRange,
    facts: Sequence[Fact],
    queries_summary: Sequence[str],
    sources: Sequence[Source],
    errors: Sequence[str],
    notes: Sequence[str] = (),
) -> str:
    """The template answer as text (see `compose` for the parts)."""
    return compose(question, language, time_range, facts, queries_summary, sources,
                   errors, notes).text()


def compose(
    question: str,
    language: str,
    time_range: TimeRange,
    facts: Sequence[Fact],
    queries_summary: Sequence[str] = (),
    sources: Sequence[Source] = (),
    errors: Sequence[str] = (),
    notes: Sequence[str] = (),
    asked: frozenset[str] = frozenset(),
) -> ComposedAnswer:
    """Template sentences over `facts` in `language`.

    `language`: "en" or "ko" (`OpsaError` otherwise); `queries_summary`: one line per query
    run (e.g. "embedded: SELECT ..."); `sources`: runbook hits (a string, or anything with
    `source` and `heading`, e.g. `SourceOut`); `errors`: one message per failed query,
    "backend: message" naming the backend where known; `notes`: sentences stated after the
    window (assumptions such as a default time range), already in `language`; `asked`:
    fact names the question's reading asks for ("min" for "the shortest ..."), beside those
    its words name.
    """
    lang = as_language(language)
    r = _Renderer(lang, zone(time_range.timezone), spans_days(time_range),
                  fact_names_in(question) | asked, duration_unit_asked(question))
    lead, evidence = _headline_and_evidence([r.group(g) for g in _groups(facts)], r.asked)
    if not lead and not errors:  # when every query failed, the failures lead, not "no data"
        lead = [PHRASES["no_data"][lang]]
    lines = tuple(source_line(s) for s in sources)
    return ComposedAnswer(
        language=lang,
        window=window_sentence(time_range, lang),
        fact_sentences=tuple(lead),
        evidence=tuple(evidence),
        error_sentences=tuple(error_sentence(e, lang) for e in errors),
        notes=tuple(notes),
        queries=tuple(queries_summary),
        sources=lines,
        allowed=(question, *errors, *lines, *notes),
    )


def _headline_and_evidence(groups: list[list[_Said]], asked: set[str]
                           ) -> tuple[list[str], list[str]]:
    """Each query's sentences -> (headline, evidence), no sentence twice.

    The headline is what the question asked for. From the first query with facts: the
    result of the operation its query ran (the busiest period, a distinct count, the first
    line, values ranked by a field; a query runs one only when asked), the facts the question
    names ("how many" over a series names its total), or, when neither, its first sentence,
    its rankings and its count. From later queries: a fact the question names that the
    headline does not state yet. Everything else is evidence.
    """
    lead: list[str] = []
    evidence: list[str] = []
    said: set[str] = set()
    stated: set[str] = set()
    for rendered in groups:
        first_group = not lead
        names = {x.name for x in rendered}
        wanted = asked | ({"total"} if "count" in asked and "count" not in names else set())
        plain = not (wanted & names or any(x.operation for x in rendered))
        for i, x in enumerate(rendered):
            if x.sentence in said:
                continue
            said.add(x.sentence)
            if first_group:
                heads = x.operation or x.name in wanted or (
                    plain and (i == 0 or x.name in _RANKINGS or x.name == "count"))
            else:
                heads = x.name in asked and x.name not in stated
            if heads:
                lead.append(x.sentence)
                stated.add(x.name)
            else:
                evidence.append(x.sentence)
    return lead, evidence


def split_appendix(text: str) -> tuple[str, str]:
    """(body, appendix): an answer text cut where its "Queries run:" / "Sources:" list starts.

    Grounding checks the body; the appendix is written by code (query texts hold numbers
    such as LIMIT 50 that are not claims).
    """
    heads = {PHRASES[k][lang] for k in ("queries", "sources") for lang in LANGUAGES}
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip() in heads:
            return "\n".join(lines[:i]).rstrip(), "\n".join(lines[i:])
    return text, ""


def window_sentence(time_range: TimeRange, language: Language) -> str:
    """ "Time window: 2026-11-20 11:00–12:00 UTC." in the user's timezone."""
    tz = zone(time_range.timezone)
    start, end = time_range.start.astimezone(tz), time_range.end.astimezone(tz)
    if spans_days(time_range):
        span = f"{format_clock(start, tz, True)} – {format_clock(end, tz, True)}"
    else:
        span = f"{start:%Y-%m-%d} {format_clock(start, tz)}–{format_clock(end, tz)}"
    return PHRASES["window"][language].format(range=span, tz=timezone_label(time_range))


def timezone_label(time_range: TimeRange) -> str:
    """ "UTC", or "KST (Asia/Seoul)": the zone's abbreviation and IANA name."""
    name = time_range.timezone
    abbr = time_range.end.astimezone(zone(name)).tzname() or name
    return name if abbr == name else f"{abbr} ({name})"


def error_sentence(error: str, language: Language) -> str:
    """One failed query as a sentence, naming the backend when the message starts with it."""
    text = " ".join(without_paths(error).split()).rstrip(".")
    m = _BACKEND_ERROR.match(text)
    if m:
        return PHRASES["backend_error"][language].format(backend=m[1], message=m[2])
    return PHRASES["error"][language].format(message=text)


# ---------------------------------------------------------------------- rendering


def _groups(facts: Iterable[Fact]) -> list[list[Fact]]:
    groups: dict[int, list[Fact]] = {}
    for f in facts:
        groups.setdefault(f.query_index, []).append(f)
    return list(groups.values())


def _kind(f: Fact) -> str:
    return f.metric if f.metric in ("logs", "events") else "metric"


def _lookup(table: dict[str, _T], f: Fact) -> _T | None:
    if f.basis == SAMPLES and f"{f.name}@{SAMPLES}" in table:
        return table[f"{f.name}@{SAMPLES}"]
    return table.get(f"{f.name}@{_kind(f)}", table.get(f.name))


@dataclass(frozen=True)
class _Said:
    name: str
    sentence: str
    operation: bool
    """The result of an operation the query ran because it was asked (see `_is_operation`)."""


OPERATION_FACTS = frozenset({"busiest", "distinct_count", "first_occurrence",
                             "last_occurrence", "above_count", "quantile", "bucket_change",
                             "line_count", "line", "period_diff", "event_start",
                             *PERIOD_LISTS})
"""Facts a query states only when its IR asked for that operation."""


def _is_operation(f: Fact) -> bool:
    """An operation's result; a log ranking by anything but template is one (a count by
    template comes with every log count, a count by another field only when asked)."""
    if f.name in OPERATION_FACTS:
        return True
    return f.name in ("top", "bottom") and f.metric == "logs" and "template" not in f.labels


class _Renderer:
    def __init__(self, language: Language, tz: ZoneInfo, with_date: bool,
                 asked: set[str], duration_unit: str | None = None) -> None:
        self.lang = language
        self.tz = tz
        self.with_date = with_date
        self.asked = asked
        self.duration_unit = duration_unit

    def group(self, facts: list[Fact]) -> list[_Said]:
        """The sentences for one query's facts, in `RENDER_ORDER` (asked-for first)."""
        shown = [f for f in facts if self._shown(f, facts)]
        shown.sort(key=lambda f: (f.name not in self.asked, _order(f.name)))
        out: list[_Said] = []
        done_lists: set[str] = set()
        for f in shown:
            if f.name in LIST_NAMES:
                if f.name not in done_lists:
                    done_lists.add(f.name)
                    out.append(_Said(f.name, self.listing([g for g in shown if g.name == f.name]),
                                     _is_operation(f)))
            else:
                out.append(_Said(f.name, self.sentence(f, facts), _is_operation(f)))
        return out

    def _shown(self, f: Fact, group: list[Fact]) -> bool:
        if f.name not in RENDER_ORDER or (f.name in OPTIONAL and f.name not in self.asked):
            return False
        if f.scope == "series" and f.rank is None:
            if any(g.scope == "all" and g.name == f.name for g in group):
                return False
            if f.name in PER_SERIES and any(g.name == "series_count" for g in group):
                return False
        return True

    def sentence(self, f: Fact, group: list[Fact]) -> str:
        template = _lookup(TEMPLATES, f)
        if template is None:
            raise OpsaError(f"no answer template for fact {f.name!r}; add one to TEMPLATES")
        text = template[self.lang]
        return text.format(**self.fields(f, text, group))

    def listing(self, facts: list[Fact]) -> str:
        head = facts[0]
        template = _lookup(LIST_TEMPLATES, head)
        item = _lookup(ITEM_TEMPLATES, head)
        if template is None or item is None:
            raise OpsaError(f"no list template for fact {head.name!r}; add one")
        ordered = sorted(facts, key=lambda f: (f.rank or 0, f.at.timestamp() if f.at else 0))
        joiner = LIST_JOINERS.get(head.name, LIST_JOINER)
        items = joiner.join(self._item(item, f, facts) for f in ordered)
        fields = self.fields(head, template[self.lang], facts)
        fields["items"] = items
        return template[self.lang].format(**fields)

    def _item(self, item: str, f: Fact, facts: list[Fact]) -> str:
        text = item.format(**self.fields(f, item, facts))
        if f.name == "line" and f.basis == "first":  # after a gap: the first of them
            return "- \u2026\n" + text.replace("- ", f"- {FIRST_LINE[self.lang]} ", 1)
        return text

    def fields(self, f: Fact, template: str, group: list[Fact]) -> dict[str, str]:
        subject = self.subject(f)
        display = self.display(f)
        out = {
            "subject": subject,
            "Subject": _capitalize(subject) if f.metric in SUBJECTS else subject,
            "where": self.where(f.labels),
            "where_ko": self.where_ko(f.labels),
            "display": display,
            "time": format_clock(f.at, self.tz, self.with_date) if f.at else "",
            "copula": korean_copula(display),
            "basis": BASIS_PHRASES.get(f.basis, {}).get(self.lang, ""),
            "key": self.key_phrase(f.labels),
            "item": self.item(f.labels),
            "kind": f.labels.get("kind", ""),
            "target": " " + (f.labels.get("service") or f.labels.get("host") or "")
            if f.labels.get("service") or f.labels.get("host") else "",
            "status": f" ({f.labels['status']})" if f.labels.get("status") else "",
            "period": self.period(f),
            "period_word": PERIOD_WORDS.get(f.basis, {}).get(self.lang, f.basis),
            "text": _cut(str(f.value)) if isinstance(f.value, str) else "",
            "field": KEY_PHRASES.get(f.basis, {}).get(self.lang, f.basis),
            "origin_ko": self.origin_ko(f.labels),
        }
        if "{first_period}" in template:
            first = [g for g in group if g.name == "bucket_first_mean" and g.labels == f.labels]
            out["first_period"] = self.period(first[0]) if first else ""
        for name in _field_names(template):
            if name not in out:
                out[name] = self.sibling(name, f, group)
        return out

    def period(self, f: Fact) -> str:
        """The bucket a per-day / per-hour fact is about: "2015-03-03", "2015-03-03 14:00"."""
        if f.at is None:
            return ""
        if f.basis == "day":
            return f"{f.at.astimezone(self.tz):%Y-%m-%d}"
        return format_clock(f.at, self.tz, True)

    def sibling(self, name: str, f: Fact, group: list[Fact]) -> str:
        for g in group:
            if g.name == name and g.labels == f.labels:
                return self.display(g)
        raise OpsaError(f"template for {f.name!r} needs a {name!r} fact with the same labels")

    def display(self, f: Fact) -> str:
        if f.name in SPANS and self.duration_unit and isinstance(f.value, int | float):
            return duration_in(float(f.value), self.duration_unit, self.lang)
        if isinstance(f.value, str) or self.lang == "en":
            return f.display
        if f.name in SIGNED:
            return format_change(f.value, f.unit, self.lang)
        return format_value(f.value, f.unit, self.lang)

    def subject(self, f: Fact) -> str:
        base = SUBJECTS.get(f.metric, {}).get(self.lang, f.metric)
        fn = f.function
        if fn[:1] == "p" and fn[1:2].isdigit():
            return FUNCTION_PHRASES["quantile"][self.lang].format(q=fn, s=base)
        if fn in FUNCTION_PHRASES:
            return FUNCTION_PHRASES[fn][self.lang].format(s=base)
        return base

    def where(self, labels: dict[str, str]) -> str:
        host, service = labels.get("host"), labels.get("service")
        out = ""
        if host:
            out = f" on {host}" + (f" ({service})" if service else "")
        elif service:
            out = f" for {service}"
        rest = _other_labels(labels)
        return out + (f" ({rest})" if rest else "")

    def where_ko(self, labels: dict[str, str]) -> str:
        host, service = labels.get("host"), labels.get("service")
        rest = _other_labels(labels)
        out = f"({rest}) " if rest else ""
        if host:
            out += (f"{service} 서비스 " if service else "") + f"{host}의 "
        elif service:
            out += f"{service} 서비스의 "
        return out

    def origin_ko(self, labels: dict[str, str]) -> str:
        """ " R02-M1 (KERNEL, ip=…)에서" : where a line came from, in Korean."""
        host, service = labels.get("host"), labels.get("service")
        rest = _other_labels(labels)
        inner = ", ".join(x for x in (service if host else None, rest) if x)
        where = host or service or ""
        if not where and not inner:
            return ""
        return f" {where}" + (f" ({inner})" if inner else "") + "에서"

    def key_phrase(self, labels: dict[str, str]) -> str:
        key = next(iter(labels), "")
        return KEY_PHRASES.get(key, {}).get(self.lang, key)

    def item(self, labels: dict[str, str]) -> str:
        if "template" in labels:
            example = labels.get("example", "")
            shown = f"\u201c{labels['template']}\u201d"
            # A template with placeholders, said once as one of its real lines: whole, as
            # stored (so every number in it traces to the data), or not at all.
            if example and len(example) <= EXAMPLE_MAX and example == " ".join(example.split()):
                eg = "예:" if self.lang == "ko" else "e.g."
                shown += f" ({eg} \u201c{example}\u201d)"
            return shown
        if len(labels) == 1 and next(iter(labels)) in KEY_PHRASES:  # a log field's value
            key, value = next(iter(labels.items()))
            if key not in ("service", "host", "level") and value:
                return f"`{value}`"  # read from the lines verbatim: quoted as data
            return value or "-"
        return labels.get("host") or labels.get("service") or ", ".join(
            f"{k}={v}" for k, v in labels.items()) or "-"


def _cut(text: str, limit: int = 0) -> str:
    text = " ".join(text.split())
    limit = limit or TEXT_MAX
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


SPANS = frozenset({"above_time"})
"""Facts that are a length of time: written in the unit the question asks in, if any."""
DURATION_ASKED: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("min", re.compile(r"\bminutes?\b|\bmins\b|몇\s*분|분\s*(?:동안|간)", re.I)),
    ("h", re.compile(r"\bhours?\b|몇\s*시간", re.I)),
    ("s", re.compile(r"\bseconds?\b|몇\s*초", re.I)),
)
_DURATION_S = {"min": 60, "h": 3600, "s": 1}
_DURATION_WORDS = {"en": {"min": " min", "h": " h", "s": " s"},
                   "ko": {"min": "분", "h": "시간", "s": "초"}}


def duration_unit_asked(question: str) -> str | None:
    """ "min", "h" or "s" when the question asks for a length of time in that unit."""
    return next((u for u, rx in DURATION_ASKED if rx.search(question)), None)


def duration_in(seconds: float, unit: str, language: Language) -> str:
    """ "500 min", "8.3 h", "500분": `seconds` in `unit` (a whole number when it is one)."""
    v = seconds / _DURATION_S[unit]
    text = f"{v:,.0f}" if float(round(v, 6)).is_integer() else f"{v:,.1f}"
    return text + _DURATION_WORDS[language][unit]


def _capitalize(text: str) -> str:
    """ "available memory" -> "Available memory"; "p95 latency" stays as is."""
    first = text.split(" ", 1)[0]
    return text[:1].upper() + text[1:] if first.isalpha() else text


def _order(name: str) -> int:
    return RENDER_ORDER.index(name) if name in RENDER_ORDER else len(RENDER_ORDER)


def _other_labels(labels: dict[str, str]) -> str:
    parts = []
    for k, v in labels.items():
        if k in ("host", "service", "template", "id"):
            continue
        parts.append(f"level\u2265{v}" if k == "level" else f"{k}={v}")
    return ", ".join(parts)


def _field_names(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template)
            if name and name not in _STANDARD_FIELDS]


def korean_copula(display: str) -> str:
    """ "였습니다." or "이었습니다.", by how the value's last character is read aloud."""
    last = display.rstrip()[-1:] if display.strip() else ""
    if last.isdigit():
        consonant = last in _KO_DIGIT_BATCHIM
    elif last:
        consonant = has_final_consonant(last)
    else:
        consonant = False
    return "이었습니다." if consonant else "였습니다."


# ---------------------------------------------------------------- prompt helpers

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FENCE_CHARS = re.compile(r"<(?=<)|>(?=>)")


def as_data_block(label: str, text: str) -> str:
    """Fence untrusted text (log lines, documents) for a prompt, so it reads as data.

    The block is ``<<<DATA label>>>`` ... ``<<<END DATA label>>>``. Inside it, runs of ``<``
    or ``>`` are broken up ("<<<" becomes "< < <") and control characters dropped, so the
    text can neither close the block early nor open another. The system prompt must say
    that DATA blocks hold data to report on, never instructions to follow.
    """
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_") or "data"
    body = _FENCE_CHARS.sub(lambda m: m.group(0) + " ", _CONTROL.sub("", text.replace("\r", "")))
    return f"<<<DATA {name}>>>\n{body}\n<<<END DATA {name}>>>"


def facts_block(facts: Sequence[Fact], time_range: TimeRange,
                language: Language = "en") -> str:
    """The facts as a fenced data block for an LLM prompt, one fact per line."""
    r = _Renderer(language, zone(time_range.timezone), spans_days(time_range), set())
    lines = []
    for f in facts:
        labels = ", ".join(f"{k}={v}" for k, v in f.labels.items())
        rank = f" #{f.rank}" if f.rank is not None else ""
        at = f" at {format_clock(f.at, r.tz, r.with_date)}" if f.at else ""
        lines.append(f"[q{f.query_index}] {f.name}{rank} of {r.subject(f)}"
                     f"{' {' + labels + '}' if labels else ''}: {r.display(f)}{at}")
    return as_data_block("facts", "\n".join(lines))


__all__ = [
    "ITEM_TEMPLATES",
    "LIST_TEMPLATES",
    "SUBJECTS",
    "TEMPLATES",
    "ComposedAnswer",
    "Source",
    "SourceLike",
    "as_data_block",
    "as_language",
    "compose",
    "compose_answer",
    "error_sentence",
    "facts_block",
    "korean_copula",
    "source_line",
    "split_appendix",
    "timezone_label",
    "window_sentence",
]
