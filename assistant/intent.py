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
)
LOGS = _rx(
    "log", "logs", "error message", "error messages", "exception", "exceptions", "stack trace",
    "stacktrace", "grep", "lines", "messages", "message", "most frequent error", "top errors",
    "traceback", "panic", "로그", "에러 메시지", "오류 메시지", "메시지", "예외",
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
    ("p99", _rx("p99", "99th", "99%ile", "99 percentile", "99퍼센타일")),
    ("p95", _rx("p95", "95th", "95%ile", "95 percentile", "95퍼센타일")),
    ("p90", _rx("p90", "90th", "90 percentile")),
    ("p50", _rx("p50", "median", "50th", "중앙값")),
    ("avg", _rx("average", "avg", "mean", "typical", "평균")),
    ("peak", _rx("peak", "max", "maximum", "highest", "top value", "spike", "worst", "최대",
                 "최고", "피크", "가장 높")),
    ("lowest", _rx("min", "minimum", "lowest", "least", "최소", "최저", "가장 낮")),
    ("sum", _rx("total", "sum", "in total", "overall", "how many", "count", "number of", "합계",
                "총", "전체", "몇")),
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
    "most frequent", "most common", "top error", "top errors", "top messages", "which errors",
    "what errors", "kinds of error", "types of error", "error types", "group", "patterns",
    "가장 많은", "가장 흔한", "자주", "빈번", "종류", "유형",
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


def read_intent(text: str) -> IntentReading:
    """Classify `text` (time phrases removed) into intents and slot hints."""
    r = IntentReading()
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
    return r
