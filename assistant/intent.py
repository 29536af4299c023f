"""What a question asks for, by rules over English and Korean wording.

The rules read the question with its time phrases already removed (so "5 min" never reads
as the aggregation `min`). They decide the *shape* of the plan; entity linking decides
*what* it is about. Nothing here knows the demo fleet: the vocabulary is the operations
vocabulary every team shares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from assistant.ir import Aggregation, EventKind, Level
from assistant.runbooks import Role, asks_cause, asks_meaning_of_an_alert, question_role

Intent = Literal["metric", "logs", "events", "docs", "why", "refuse", "smalltalk"]


def _rx(*words: str) -> re.Pattern[str]:
    """Alternation of words; ASCII words match on word boundaries, Korean ones anywhere."""
    parts = []
    for w in words:
        if re.fullmatch(r"[\w\s.%/-]+", w, flags=re.ASCII):
            parts.append(rf"(?<![\w-]){w}(?![\w-])")
        else:
            parts.append(w)
    return re.compile("|".join(parts), re.IGNORECASE)


def _rxa(*words: str) -> re.Pattern[str]:
    """As `_rx`, but an ASCII word may be followed by a Korean particle ("IP는", "노드가")."""
    parts = [rf"(?<![A-Za-z0-9_-]){re.escape(w)}(?![A-Za-z0-9_-])"
             if re.fullmatch(r"[\w\s.%/:-]+", w, flags=re.ASCII) else re.escape(w)
             for w in words]
    return re.compile("|".join(parts), re.IGNORECASE)


WRITE_ACTION = _rx(
    "restart", "reboot", "kill", "delete", "drop", "truncate", "remove", "scale up", "scale down",
    "scale", "rollback", "roll back", "deploy to", "shut down", "shutdown", "stop the", "start the",
    "purge", "flush", "failover", "fail over", "silence", "acknowledge", "ack the", "run rm",
    "재시작", "재부팅", "삭제", "지워", "롤백", "배포해", "중지", "꺼줘", "죽여", "스케일",
)
# A write verb inside a "how do I ..." question is a docs question, not a request to act.
HOW_TO = _rx(
    "how do i", "how do we", "how to", "how can", "how should", "what should", "steps to",
    "runbook", "playbook", "procedure", "guide", "fix", "mitigate", "resolve", "remediate",
    "방법", "어떻게", "런북", "절차", "해결", "조치", "대응",
)
WHY = _rx(
    "why", "what happened", "root cause", "cause", "caused", "investigate", "explain",
    "went wrong", "going on", "diagnose", "what's wrong", "whats wrong", "what is wrong",
    "started failing", "failing", "broken", "incident", "outage", "degraded", "slow down",
    "왜", "원인", "무슨 일", "무슨일", "what changed", "문제", "장애", "이상", "느려",
    # an overview ("is everything ok?") is answered like "what's going on": top errors,
    # alerts, incidents and deploys of the window
    "everything ok", "everything okay", "everything fine", "all good", "any problems",
    "any issues", "anything wrong", "how are things", "overall health", "health check",
    "상태 어때", "상태는 어때", "괜찮아", "별일 없", "잘 돌아가",
)
LOGS = _rx(
    "log", "logs", "error message", "error messages", "exception", "exceptions", "stack trace",
    "stacktrace", "grep", "lines", "messages", "message", "most frequent error", "top errors",
    "traceback", "panic", "로그", "에러 메시지", "오류 메시지", "메시지", "예외",
    "logged", "logging", "찍힌", "찍혔",
)
EVENTS = _rx(
    "deploy", "deploys", "deployed", "deployment", "deployments", "release", "released",
    "rollout", "alert", "alerts", "alerting", "fired", "firing", "incident", "incidents",
    "change", "changes", "changed", "config change", "배포", "알림", "알람", "경보", "인시던트",
    "변경", "릴리스",
)
EVENT_KIND_WORDS: dict[EventKind, re.Pattern[str]] = {
    "deploy": _rx("deploy", "deploys", "deployed", "deployment", "deployments", "release",
                  "released", "rollout", "배포", "릴리스"),
    "alert": _rx("alert", "alerts", "alerting", "fired", "firing", "paged", "page", "알림",
                 "알람", "경보"),
    "incident": _rx("incident", "incidents", "outage", "outages", "인시던트", "장애"),
    "change": _rx("change", "changes", "changed", "config change", "변경"),
}
DOCS = _rx(
    "how do i", "how do we", "how to", "how can", "runbook", "playbook", "procedure",
    "documentation", "docs", "what does", "what is the", "escalat", "who owns", "on-call",
    "on call", "mitigat", "remediat", "fix", "방법", "어떻게", "런북", "절차", "문서", "담당",
)
METRIC = _rx(
    "cpu", "memory", "mem", "disk", "load", "latency", "p50", "p90", "p95", "p99", "rate",
    "throughput", "rps", "qps", "requests", "traffic", "usage", "utilization", "utilisation",
    "percent", "%", "bytes", "network", "bandwidth", "connections", "pool", "saturation",
    "peak", "average", "avg", "max", "maximum", "min", "minimum", "highest", "lowest", "spike",
    "trend", "graph", "chart", "value", "metric", "metrics", "how much", "how high",
    "error rate", "5xx", "4xx", "status code", "사용률", "메모리", "디스크", "지연", "응답 시간",
    "요청", "트래픽", "최대", "최소", "평균", "최고", "가장 높", "가장 낮", "부하", "네트워크",
    "커넥션", "연결", "추이", "그래프", "얼마",
)
SMALLTALK = _rx("hello", "hi", "thanks", "thank you", "who are you", "안녕", "고마워", "감사")

AGG_WORDS: list[tuple[Aggregation | Literal["peak", "lowest", "last"], re.Pattern[str]]] = [
    ("p99", _rxa("p99", "99th", "99%ile", "99 percentile", "99퍼센타일", "99번째")),
    ("p95", _rxa("p95", "95th", "95%ile", "95 percentile", "95퍼센타일", "95 퍼센타일",
                 "95번째", "95 백분위", "95백분위", "95분위")),
    ("p90", _rxa("p90", "90th", "90 percentile", "90퍼센타일", "90번째")),
    ("p50", _rxa("p50", "median", "50th", "중앙값")),
    ("avg", _rx("average", "avg", "mean", "typical", "평균")),
    ("peak", _rx("peak", "max", "maximum", "highest", "top value", "spike", "worst", "최댓값",
                 "최대", "최고", "피크", "가장 높", "longest", "largest", "biggest",
                 "제일 높", "튀었", "치솟")),
    ("lowest", _rx("min", "minimum", "lowest", "least", "최솟값", "최소", "최저", "가장 낮",
                   "shortest", "smallest", "fewest", "바닥", "제일 낮")),
    ("sum", _rx("total", "totals", "sum", "sums", "in total", "overall", "how many", "count",
                "number of", "합계", "총", "전체", "몇")),
    ("last", _rx("current", "currently", "now", "right now", "latest", "현재", "지금")),
]
TOPK = re.compile(
    r"(?:top|bottom)\s*(\d+)?|which\s+(?:hosts?|services?|instances?|nodes?|servers?)"
    r"|(?:hosts?|services?|servers?)\s+with\s+the\s+(?:most|highest|lowest)"
    r"|상위\s*(\d+)?|가장\s*많|어느\s*(?:호스트|서버|서비스)|어떤\s*(?:호스트|서버|서비스)",
    re.IGNORECASE,
)
BOTTOM = re.compile(r"\bbottom\b|lowest|least|가장\s*낮|최저", re.IGNORECASE)
RATE_WORDS = _rx("rate", "per second", "/s", "rps", "qps", "throughput", "초당", "처리량")
LEVEL_WORDS: list[tuple[Level, re.Pattern[str]]] = [
    ("fatal", _rx("fatal", "fatals", "panic", "panics", "critical", "crash", "crashes", "치명")),
    ("error", _rx("error", "errors", "err", "failed", "failure", "failures", "exception",
                  "exceptions", "5xx", "에러", "오류", "실패", "예외")),
    ("warn", _rx("warn", "warning", "warnings", "경고")),
]
TOP_TEMPLATES = _rx(
    "most frequent", "most common", "most often", "top error", "top errors", "top messages",
    "가장 많이 나온", "가장 많이 찍힌", "가장 자주", "제일 많이", "which errors",
    "what errors", "kinds of error", "types of error", "error types", "group", "patterns",
    "가장 많은", "가장 흔한", "제일 많은", "제일 흔한", "자주", "빈번", "종류", "유형",
    "complain", "complains", "complaining", "complained", "불평",
)
COUNT_WORDS = _rx(
    "how many", "count", "number of", "몇 번", "몇번", "몇 건", "몇건", "개수", "건수"
)
THRESHOLD = re.compile(
    r"(?:above|over|exceed(?:s|ed|ing)?|more than|greater than|higher than|>=?)\s*"
    r"(-?\d[\d,]*(?:\.\d+)?)(?!\s*(?:min|minutes?|hours?|h|days?|d|s|sec|seconds?|분|시간|일)\b)"
    r"|(-?\d[\d,]*(?:\.\d+)?)\s*(?:%|퍼센트)?\s*(?:을|를|이|가)?\s*(?:넘|초과|이상)",
    re.IGNORECASE,
)
"""A value the question compares against: "above 1000", "exceeded 90%", "80을 넘은"."""
BUCKET_WORDS: list[tuple[int, re.Pattern[str]]] = [
    (86400, _rx("daily", "per day", "each day", "by day", "a day", "day by day", "일별",
                "날짜별", "하루별", "일자별")),
    (3600, _rx("hourly", "per hour", "each hour", "by hour", "an hour", "시간별", "시간당")),
]
COMPARE = _rx("compare", "compared", "comparison", "versus", "vs", "vs.", "비교", "대비")
QUOTED = re.compile(r"[\"“”'‘’`]([^\"“”'‘’`]{2,120})[\"“”'‘’`]")


# -- log operations: what is asked about the lines, and of which kind of value -------------


LOG_FIELD_WORDS: list[tuple[str, re.Pattern[str]]] = [
    ("ip_port", _rxa("ip:port", "ip and port", "address and port", "endpoint", "endpoints",
                    "socket", "sockets", "ip 과 포트", "주소와 포트")),
    ("mac", _rxa("mac", "macs", "mac address", "mac addresses", "hardware address",
                 "MAC 주소")),
    ("ipv4", _rxa("ip", "ips", "ip address", "ip addresses", "ipv4", "address", "addresses",
                 "client address", "source address", "source ip", "client ip", "아이피",
                 "IP 주소", "주소")),
    ("user", _rxa("user", "users", "username", "usernames", "user name", "account", "accounts",
                 "login name", "사용자", "유저", "계정", "아이디")),
    ("block_id", _rxa("block", "blocks", "block id", "block ids", "블록")),
    ("request_id", _rxa("request id", "request ids", "req id", "요청 id", "요청 ID")),
    ("session_id", _rxa("session", "sessions", "session id", "session ids", "세션")),
    ("uuid", _rxa("uuid", "uuids", "instance id", "instance ids")),
    ("pid", _rxa("pid", "pids", "process id", "process ids", "프로세스 id", "프로세스 ID")),
    ("status_code", _rxa("status code", "status codes", "http status", "response code",
                        "response codes", "상태 코드", "상태코드", "응답 코드")),
    ("port", _rxa("port", "ports", "포트")),
    ("http_method", _rxa("http method", "http methods", "request method", "request methods",
                         "method", "methods", "http 메서드", "메서드", "메소드")),
    ("host", _rxa("host", "hosts", "node", "nodes", "machine", "machines", "server", "servers",
                 "hostname", "computer", "호스트", "노드", "서버", "장비", "머신")),
    ("service", _rxa("component", "components", "program", "programs", "module", "modules",
                    "process", "processes", "service", "services", "app", "apps",
                    "application", "applications", "source", "sources", "daemon",
                    "subsystem", "subsystems", "facility", "facilities",
                    "컴포넌트", "프로그램", "모듈", "프로세스", "서비스", "앱", "애플리케이션",
                    "서브시스템")),
    ("level", _rxa("level", "levels", "severity", "severities", "log level", "레벨", "심각도")),
    ("template", _rxa("message", "messages", "error message", "error messages", "log message",
                     "event type", "event types", "메시지", "문구")),
]
"""A small glossary of kinds of values a log question asks about, most specific first:
columns (host, service = program/component, level), message templates, or values read from
the message (`assistant.ir.ExtractKind`)."""
FIRST_WORDS = _rxa("first", "earliest", "first time", "start", "started", "begin", "began",
                   "처음", "최초", "맨 처음", "첫", "시작")
"""With a "when" word: the first occurrence ("when did the failures start")."""
EXPLICIT_FIRST = _rxa("first", "earliest", "first time", "처음", "최초", "맨 처음", "첫")
"""First named as such: "start" alone yields to a "last" ("the last time it started")."""
LAST_WORDS = _rxa("last", "latest", "most recent", "last time", "마지막", "가장 최근",
                 "최근에")
WHEN_WORDS = _rxa("when", "what time", "which time", "at what", "언제", "몇 시", "시각", "시점")
BUSY_WORDS = _rxa("busiest", "busy", "most active", "peak", "noisiest", "noisy", "chattiest",
                  "loudest", "worst", "heaviest", "가장 바쁜", "바빴", "바쁜", "피크", "시끄러웠")
MOST_WORDS = re.compile(
    r"(?<![\w-])(?:most|the most|top|largest number|most often|most frequently)(?![\w-])"
    r"|(?:가장|제일)(?:\s+\S+){0,2}?\s*(?:많|자주)|최다|최빈", re.IGNORECASE)
"""The most of something; in Korean "가장" may stand apart from "많이" ("가장 로그를 많이 남긴")."""
UNIT_WORDS: list[tuple[str, re.Pattern[str]]] = [
    ("minute", re.compile(r"(?<![A-Za-z0-9_-])minutes?(?![A-Za-z0-9_-])"
                          r"|(?<![가-힣])분(?=[은는이가을를에의]?(?:\s|$|[?.,]))", re.I)),
    ("hour", _rxa("hour", "hours", "time of day", "시간대", "시간", "몇 시")),
    ("day", _rxa("day", "days", "date", "dates", "날", "날짜", "일자", "하루", "요일")),
]
DISTINCT_WORDS = _rxa("distinct", "unique", "different", "서로 다른", "고유한", "고유", "다른 종류")
LIST_WORDS = _rxa("which", "what", "list", "list the", "name the", "show the", "어떤", "어느",
                 "무슨", "목록", "나열", "뭐야", "뭐였", "뭐지", "뭔지", "뭐가", "무엇", "누구",
                 "뭐뭐")
SEVERITY_NOUNS: list[tuple[Level, re.Pattern[str]]] = [
    ("fatal", _rxa("fatal", "fatals", "critical", "crit", "emergency", "치명", "치명적")),
    ("error", _rxa("error", "errors", "err", "에러", "오류")),
    ("warn", _rxa("warn", "warning", "warnings", "경고")),
    ("info", _rxa("info", "informational")),
    ("debug", _rxa("debug", "디버그")),
    ("trace", _rxa("trace", "verbose")),
]
"""Severity names a question counts lines of ("how many warnings", "INFO 로그는 몇 줄"): the
level itself, not a word a line says ("failed", "crash" are what lines say)."""
SEVERITY_SAID: dict[Level, str] = {
    "fatal": "fatal|crit|emerg", "error": "error|fail", "warn": "warn", "info": "info",
    "debug": "debug", "trace": "trace",
}
"""How a line with no level field says its severity (case-insensitive substrings): the
severity's names as loggers spell them; an error is also a line that says it failed."""


def severity_pattern(levels: tuple[Level, ...] | list[Level]) -> str:
    """The regular expression for lines whose words say one of `levels`."""
    return "(?i)" + "|".join(SEVERITY_SAID[lv] for lv in levels)


SHOW_WORDS = _rxa("show me", "show all", "show the lines", "display", "print", "보여줘",
                  "보여 줘", "보여주", "보여봐", "출력해")
"""Asking for the lines themselves, verbatim."""
OLDEST_WORDS = _rxa("first", "earliest", "oldest", "처음", "최초", "가장 오래된")
HOW_MANY = re.compile(
    r"(?<![\w-])(?:how many|number of|count of)(?![\w-])|몇\s*(?:개|명|곳|종류|가지|대)",
    re.IGNORECASE)


LINES_HOW_MANY = re.compile(r"몇\s*(?:줄|라인|건|번)")
"""Korean "how many lines / entries / times"."""


def _counts_values(text: str, field_at: int) -> bool:
    """ "how many (distinct) nodes", "노드는 몇 개": a count of the values themselves."""
    for m in HOW_MANY.finditer(text):
        if m.group(0).startswith("몇"):  # "노드는 몇 개", "몇 개의 서로 다른 세션"
            if field_at < m.start() or field_at - m.end() <= 12:
                return True
        elif 0 <= field_at - m.end() <= 25:
            return True
    return False


def severities_named(text: str) -> list[Level]:
    """The severity levels `text` names as such, in the order it names them."""
    found: list[tuple[int, Level]] = []
    for level, rx in SEVERITY_NOUNS:
        m = rx.search(text)
        if m:
            found.append((m.start(), level))
    return [lv for _, lv in sorted(found)]


def log_field(text: str) -> tuple[str, int] | None:
    """The kind of value `text` asks about and where it is named, by the glossary; a field
    named with its value ("port 443", "443 포트") is a filter, not what is asked."""
    best: tuple[str, int] | None = None
    for name, rx in LOG_FIELD_WORDS:
        m = next((x for x in rx.finditer(text) if not _with_a_value(text, x)), None)
        if m and (best is None or m.start() < best[1]):
            best = (name, m.start())
            if name in ("ip_port",):
                break
    return best


def _with_a_value(text: str, m: re.Match[str]) -> bool:
    return bool(re.search(r"\d\s*번?\s*$", text[:m.start()])
                or re.match(r"\s*(?:=|:|number)?\s*\d", text[m.end():]))


PER_BEFORE = re.compile(r"(?:\bper|\bby|\beach|\bfor\s+each|\bfor\s+every)\s+(?:the\s+)?$",
                        re.IGNORECASE)
PER_AFTER = re.compile(r"^\s*(?:별|마다)")


def per_field(text: str) -> tuple[str, int] | None:
    """ "lines per component", "errors by host", "노드별 에러": the field each value of which
    gets a count, and where it is named (as `log_field`), or None."""
    for name, rx in LOG_FIELD_WORDS:
        for m in rx.finditer(text):
            if PER_BEFORE.search(text[:m.start()]) or PER_AFTER.match(text[m.end():]):
                return name, m.start()
    return None


def field_word_spans(question: str, field: str | None) -> list[tuple[int, int]]:
    """Where `question` names the kind of value a log operation asks about ("node" in
    "which node logged most"): the question's subject, not a name or text to search for."""
    rx = dict(LOG_FIELD_WORDS).get(field or "")
    return [m.span() for m in rx.finditer(question)] if rx is not None else []


@dataclass
class IntentReading:
    """Everything the rules read from the wording (not from the catalog)."""

    intents: set[Intent] = field(default_factory=set)
    stat: str | None = None  # p95, avg, peak, lowest, sum, last
    topk: int | None = None
    bottom: bool = False
    rate: bool = False
    level: Level | None = None
    top_templates: bool = False
    count: bool = False
    event_kinds: list[EventKind] = field(default_factory=list)
    quoted: list[str] = field(default_factory=list)
    threshold: float | None = None  # "above 1000"
    bucket_s: int | None = None  # "daily" 86400, "hourly" 3600
    compare: bool = False  # "compare", "vs", "비교"
    log_op: str | None = None  # first, last, busiest, distinct_count, distinct_list, top_value
    log_field: str | None = None  # a glossary name: host, service, ipv4, user, template ...
    busiest_unit: str | None = None  # minute, hour, day
    levels: list[Level] = field(default_factory=list)  # severities named, in question order
    value_shape: str | None = None  # top, count, list: what is asked of a value's values
    log_op_if_logs: tuple[str, str] | None = None  # a log operation a metric reading took
    oldest: bool = False  # "show me the first ...": lines oldest first
    doc_role: Role | None = None  # the runbook section asked for (`runbooks.question_role`)
    asks_cause: bool = False  # also asks what happened (`runbooks.asks_cause`)
    alert_meaning: bool = False  # about an alert's meaning or impact, not a request to act


def read_intent(text: str) -> IntentReading:
    """Classify `text` (time phrases removed) into intents and slot hints."""
    r = IntentReading(doc_role=question_role(text), asks_cause=asks_cause(text),
                      alert_meaning=asks_meaning_of_an_alert(text))
    how_to = bool(HOW_TO.search(text))
    if WRITE_ACTION.search(text) and not how_to:
        r.intents.add("refuse")
    if WHY.search(text):
        r.intents.add("why")
    if LOGS.search(text):
        r.intents.add("logs")
    if EVENTS.search(text):
        r.intents.add("events")
    if DOCS.search(text) or how_to:
        r.intents.add("docs")
    if METRIC.search(text):
        r.intents.add("metric")
    if not r.intents and SMALLTALK.search(text):
        r.intents.add("smalltalk")
    for name, rx in AGG_WORDS:
        if rx.search(text):
            r.stat = name
            break
    m = TOPK.search(text)
    if m:
        digits = next((g for g in m.groups() if g), None)
        r.topk = int(digits) if digits else 5
        r.bottom = bool(BOTTOM.search(text))
    r.rate = bool(RATE_WORDS.search(text))
    unquoted = QUOTED.sub(" ", text)  # words inside a searched-for string are not a level
    for level, rx in LEVEL_WORDS:
        if rx.search(unquoted):
            r.level = level
            break
    r.top_templates = bool(TOP_TEMPLATES.search(text))
    r.count = bool(COUNT_WORDS.search(text))
    r.event_kinds = [k for k, rx in EVENT_KIND_WORDS.items() if rx.search(text)]
    r.quoted = [q.strip() for q in QUOTED.findall(text)]
    t = THRESHOLD.search(QUOTED.sub(" ", text))
    if t:
        r.threshold = float((t.group(1) or t.group(2)).replace(",", ""))
    r.bucket_s = next((s for s, rx in BUCKET_WORDS if rx.search(text)), None)
    r.compare = bool(COMPARE.search(text))
    _read_log_op(r, text)
    return r


def _read_log_op(r: IntentReading, text: str) -> None:
    """Which operation over log lines the wording asks for, and on which kind of value:
    first/last occurrence, the busiest minute/hour/day, how many distinct values, the list of
    values, or the value seen most. A question about metrics keeps its metric reading."""
    unquoted = QUOTED.sub(" ", text)
    found = log_field(unquoted)
    field_name = found[0] if found else None
    per = per_field(unquoted)
    unit = next((u for u, rx in UNIT_WORDS if rx.search(unquoted)), None)
    most = bool(MOST_WORDS.search(unquoted))
    r.levels = severities_named(unquoted)
    if most and LIST_WORDS.search(unquoted):
        r.value_shape = "top"  # "which X ... most"
    elif DISTINCT_WORDS.search(unquoted) and (r.count or HOW_MANY.search(unquoted)):
        r.value_shape = "count"  # "how many different X"
    elif (LIST_WORDS.search(unquoted) or DISTINCT_WORDS.search(unquoted)) and not most:
        r.value_shape = "list"  # "which X were ...", "list the different X"
    show = bool(SHOW_WORDS.search(unquoted)) and not WHEN_WORDS.search(unquoted)
    counts = r.count or bool(HOW_MANY.search(unquoted) or LINES_HOW_MANY.search(unquoted))
    op: str | None = None
    if show and field_name in (None, "template") and not most:
        r.log_op, r.log_field, r.oldest = "show", None, bool(OLDEST_WORDS.search(unquoted))
        return  # "show me X", "X 로그 보여줘": the lines themselves (logs intent: the planner)
    busiest = bool(unit and BUSY_WORDS.search(unquoted))
    if r.levels and counts and field_name in (None, "template", "level") and not most \
            and not busiest and not DISTINCT_WORDS.search(unquoted) \
            and not WHEN_WORDS.search(unquoted):
        r.log_op, r.log_field = "level_count", "level"
        return  # "how many warnings", "에러랑 경고는 각각 몇 개": lines at exactly those levels
    if (FIRST_WORDS.search(unquoted) or LAST_WORDS.search(unquoted)) and (
            WHEN_WORDS.search(unquoted) or "logs" in r.intents
            or (r.value_shape == "list" and not most)):  # "which instance ... first"
        op = "last" if LAST_WORDS.search(unquoted) and not EXPLICIT_FIRST.search(unquoted) \
            else "first"
    elif unit and (busiest or most) and field_name in (None, "template"):
        op, r.busiest_unit = "busiest", unit
    elif per is not None and per[0] != "template":
        op, field_name = "distinct_list", per[0]  # "lines per component": each value's count
    elif field_name and field_name != "template" and most \
            and not DISTINCT_WORDS.search(unquoted):
        op = "top_value"
    elif field_name and (_counts_values(unquoted, found[1] if found else 0) or (
            DISTINCT_WORDS.search(unquoted) and r.count)):
        op = "distinct_count"
    elif field_name and field_name != "template" and (
            LIST_WORDS.search(unquoted) or DISTINCT_WORDS.search(unquoted)):
        op = "distinct_list"
    if op is None:
        return
    if op in ("top_value", "distinct_list", "distinct_count") and "metric" in r.intents \
            and "logs" not in r.intents and field_name in ("host", "service", "level"):
        r.log_op_if_logs = (op, field_name)  # a store without metrics reads it in the logs
        return  # "which host has the most requests": a metric question (hosts are labels)
    r.log_op, r.log_field = op, field_name
    r.intents.add("logs")
