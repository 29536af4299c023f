"""Notes in the answer's language: the assumptions and caveats code writes in English
("no time given; assumed the last 1 hour") said in Korean for a Korean question.

Each pattern is one note as the code writes it; a note no pattern matches is kept as it
is (English is better than a wrong translation). Numbers pass through unchanged, so what
grounding checks is the same in both languages.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_UNITS_KO = {"minute": "분", "hour": "시간", "day": "일", "week": "주", "second": "초"}


def _unit(n: str, unit: str) -> str:
    return f"{n}{_UNITS_KO.get(unit.rstrip('s'), unit)}"


_KO: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"no time given; assumed the last (\d+) (\w+)"),
     lambda m: f"기간이 없어 최근 {_unit(m[1], m[2])}을 조회했습니다"),
    (re.compile(r"the question named no metric, log or event; searched the runbooks"),
     lambda m: "질문에 지표·로그·이벤트가 없어 런북을 검색했습니다"),
    (re.compile(r"there is no telemetry here \(no metrics, logs or events\); searched the "
                r"runbooks; 'opsa ingest' adds telemetry"),
     lambda m: "텔레메트리(지표·로그·이벤트)가 없어 런북만 검색했습니다. 'opsa ingest'로 "
               "추가할 수 있습니다"),
    (re.compile(r"([\d,]+) of ([\d,]+) matching log lines carry no severity level, so "
                r"nothing was at level (\w+) or above; showing all matching lines"),
     lambda m: f"일치하는 로그 {m[2]}줄 중 {m[1]}줄에 심각도 레벨이 없어 {m[3]} 이상인 로그가 "
               "없었습니다. 일치하는 로그를 모두 보여줍니다"),
    (re.compile(r"([\d,]+) of ([\d,]+) log lines carry no severity level, so the lines were "
                r"counted by their words \((.+)\), not by level"),
     lambda m: f"로그 {m[2]}줄 중 {m[1]}줄에 심각도 레벨이 없어 레벨 대신 단어({m[3]})로 "
               "셌습니다"),
    (re.compile(r"no matching line was at level (\w+) or above; these are the matching lines "
                r"whose words say it \((.+)\)"),
     lambda m: f"{m[1]} 이상 레벨인 로그는 없어, 그 단어({m[2]})가 들어간 로그를 대신 보여줍니다"),
    (re.compile(r"([\d,]+) of ([\d,]+) log lines carry no severity level, so the lines were "
                r"chosen by their words \((.+)\), not by level"),
     lambda m: f"로그 {m[2]}줄 중 {m[1]}줄에 심각도 레벨이 없어 레벨 대신 단어({m[3]})로 "
               "골랐습니다"),
    (re.compile(r"([\d,]+) of ([\d,]+) log lines carry no severity level; the lines were "
                r"counted by the words searched for, not by level"),
     lambda m: f"로그 {m[2]}줄 중 {m[1]}줄에 심각도 레벨이 없어 레벨 대신 검색한 단어로 "
               "셌습니다"),
    (re.compile(r"read '([^']+)' as (\d\d:\d\d) \((?:오전/오후|am/pm) not given\)"),
     lambda m: f"'{m[1]}'를 {m[2]}로 읽었습니다(오전/오후가 없음)"),
    (re.compile(r"'([^']+)' has no year; read as ([\d-]+), within the data"),
     lambda m: f"'{m[1]}'에 연도가 없어 데이터가 있는 {m[2]}로 읽었습니다"),
    (re.compile(r"'([^']+)' has no year; read as ([\d-]+)"),
     lambda m: f"'{m[1]}'에 연도가 없어 {m[2]}로 읽었습니다"),
    (re.compile(r"'([^']+)' is later than now today; read it as yesterday \(([\d-]+ [\d:]+)\)"),
     lambda m: f"'{m[1]}'는 오늘 아직 오지 않아 어제({m[2]})로 읽었습니다"),
    (re.compile(r"'([^']+)' has not started yet today; read it as ([\d-]+)"),
     lambda m: f"'{m[1]}'는 오늘 아직 시작되지 않아 {m[2]}로 읽었습니다"),
    (re.compile(r"no start given; assumed the (\d+) (\w+) before '([^']+)'"),
     lambda m: f"시작 시각이 없어 '{m[3]}' 이전 {_unit(m[1], m[2])}을 조회했습니다"),
    (re.compile(r"the range ends after now; cut at (\d\d:\d\d)"),
     lambda m: f"기간이 현재 이후까지여서 {m[1]}에서 잘랐습니다"),
    (re.compile(r"read '([^']+)' as the last (\d+) (\w+)"),
     lambda m: f"'{m[1]}'를 최근 {_unit(m[2], m[3])}으로 읽었습니다"),
    (re.compile(r"a month is read as 30 days"), lambda m: "한 달은 30일로 계산했습니다"),
    (re.compile(r"used '([^']+)'; ignored (.+?)(?=; |$)"),
     lambda m: f"'{m[1]}'를 기준으로 하고 {m[2]}는 무시했습니다"),
]


def localized(note: str, language: str) -> str:
    """`note` in `language` where a pattern knows it (a note may join several with "; ");
    otherwise as written."""
    if language != "ko":
        return note
    for rx, say in _KO:
        note = rx.sub(say, note)
    return note


__all__ = ["localized"]
