"""Time phrases (EN/KO) against a pinned clock: 2026-11-20T12:00:00Z, in UTC and in Seoul."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from assistant.errors import TimeRangeError
from assistant.timeparse import resolve_time, strip_time_phrases, time_spans

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
UTC_Z = ZoneInfo("UTC")
SEOUL = ZoneInfo("Asia/Seoul")  # NOW is 21:00 there


def local(tz: ZoneInfo, day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=tz)


def rng(question: str, tz: ZoneInfo = UTC_Z, **kw: object) -> tuple[datetime, datetime]:
    r = resolve_time(question, NOW, tz, **kw)  # type: ignore[arg-type]
    return r.range.start, r.range.end


# (question, zone, expected start, expected end) - expected values written out by hand
CASES = [
    # English, relative
    ("cpu on web-01 in the last 15 minutes", UTC_Z, local(UTC_Z, 20, 11, 45), NOW),
    ("errors past 2h", UTC_Z, local(UTC_Z, 20, 10), NOW),
    ("what happened in the last hour", UTC_Z, local(UTC_Z, 20, 11), NOW),
    ("last 30m on web-02", UTC_Z, local(UTC_Z, 20, 11, 30), NOW),
    ("last 24 hours", UTC_Z, local(UTC_Z, 19, 12), NOW),
    ("the past week", UTC_Z, local(UTC_Z, 13, 12), NOW),
    ("last 1h30m", UTC_Z, local(UTC_Z, 20, 10, 30), NOW),
    ("in the last half an hour", UTC_Z, local(UTC_Z, 20, 11, 30), NOW),
    # English, clock times and days
    ("since 10am", UTC_Z, local(UTC_Z, 20, 10), NOW),
    ("5xx since 09:30", UTC_Z, local(UTC_Z, 20, 9, 30), NOW),
    ("between 14:00 and 14:30", SEOUL, local(SEOUL, 20, 14), local(SEOUL, 20, 14, 30)),
    ("from 14:00 to 15:00", SEOUL, local(SEOUL, 20, 14), local(SEOUL, 20, 15)),
    ("yesterday between 14:00 and 14:30", UTC_Z, local(UTC_Z, 19, 14), local(UTC_Z, 19, 14, 30)),
    ("between 2 and 4pm", SEOUL, local(SEOUL, 20, 14), local(SEOUL, 20, 16)),
    ("from 9am until noon", UTC_Z, local(UTC_Z, 20, 9), NOW),
    ("from 22:00 to 02:00 yesterday", UTC_Z, local(UTC_Z, 19, 22), local(UTC_Z, 20, 2)),
    ("yesterday", UTC_Z, local(UTC_Z, 19, 0), local(UTC_Z, 20, 0)),
    ("yesterday", SEOUL, local(SEOUL, 19, 0), local(SEOUL, 20, 0)),
    ("today", UTC_Z, local(UTC_Z, 20, 0), NOW),
    ("this morning", UTC_Z, local(UTC_Z, 20, 6), NOW),
    ("this morning", SEOUL, local(SEOUL, 20, 6), local(SEOUL, 20, 12)),
    ("this afternoon", SEOUL, local(SEOUL, 20, 12), local(SEOUL, 20, 18)),
    ("yesterday afternoon", UTC_Z, local(UTC_Z, 19, 12), local(UTC_Z, 19, 18)),
    ("last night", UTC_Z, local(UTC_Z, 19, 18), local(UTC_Z, 20, 6)),
    ("at 14:10", SEOUL, local(SEOUL, 20, 13, 55), local(SEOUL, 20, 14, 25)),
    ("around 2pm", SEOUL, local(SEOUL, 20, 13, 45), local(SEOUL, 20, 14, 15)),
    ("cpu yesterday at 3pm", UTC_Z, local(UTC_Z, 19, 14, 45), local(UTC_Z, 19, 15, 15)),
    ("2 hours ago", UTC_Z, local(UTC_Z, 20, 9, 45), local(UTC_Z, 20, 10, 15)),
    ("since yesterday", UTC_Z, local(UTC_Z, 19, 0), NOW),
    ("since 2pm yesterday", UTC_Z, local(UTC_Z, 19, 14), NOW),
    ("last week", UTC_Z, local(UTC_Z, 9, 0), local(UTC_Z, 16, 0)),
    ("this week", UTC_Z, local(UTC_Z, 16, 0), NOW),
    ("last month", UTC_Z, local(UTC_Z, 1, 0, month=10), local(UTC_Z, 1, 0)),
    ("on 2026-11-19", UTC_Z, local(UTC_Z, 19, 0), local(UTC_Z, 20, 0)),
    ("on Nov 19", SEOUL, local(SEOUL, 19, 0), local(SEOUL, 20, 0)),
    ("the day before yesterday", UTC_Z, local(UTC_Z, 18, 0), local(UTC_Z, 19, 0)),
    ("last monday", UTC_Z, local(UTC_Z, 16, 0), local(UTC_Z, 17, 0)),
    # ISO timestamps (converted to the user's zone)
    ("at 2026-11-20T10:00:00Z", UTC_Z, local(UTC_Z, 20, 9, 45), local(UTC_Z, 20, 10, 15)),
    ("at 2026-11-20T10:00:00Z", SEOUL, local(SEOUL, 20, 18, 45), local(SEOUL, 20, 19, 15)),
    (
        "from 2026-11-20T08:00:00Z to 2026-11-20T09:30:00Z",
        UTC_Z,
        local(UTC_Z, 20, 8),
        local(UTC_Z, 20, 9, 30),
    ),
    ("since 2026-11-20 09:00 UTC", UTC_Z, local(UTC_Z, 20, 9), NOW),
    ("2026-11-20 10:00+09:00", UTC_Z, local(UTC_Z, 20, 0, 45), local(UTC_Z, 20, 1, 15)),
    # Korean
    ("지난 1시간", UTC_Z, local(UTC_Z, 20, 11), NOW),
    ("지난 1시간", SEOUL, local(SEOUL, 20, 20), local(SEOUL, 20, 21)),
    ("최근 30분 에러", UTC_Z, local(UTC_Z, 20, 11, 30), NOW),
    ("지난 2시간 동안 cpu", UTC_Z, local(UTC_Z, 20, 10), NOW),
    ("세 시간 동안", UTC_Z, local(UTC_Z, 20, 9), NOW),
    ("한 시간 반 동안", UTC_Z, local(UTC_Z, 20, 10, 30), NOW),
    ("지난 일주일", UTC_Z, local(UTC_Z, 13, 12), NOW),
    ("최근 3일간", UTC_Z, local(UTC_Z, 17, 12), NOW),
    ("오늘 오전", SEOUL, local(SEOUL, 20, 0), local(SEOUL, 20, 12)),
    ("오늘 오후", SEOUL, local(SEOUL, 20, 12), local(SEOUL, 20, 21)),
    ("어제", SEOUL, local(SEOUL, 19, 0), local(SEOUL, 20, 0)),
    ("어제 오후 2시부터 4시까지 에러", SEOUL, local(SEOUL, 19, 14), local(SEOUL, 19, 16)),
    ("어제 오후 2시부터 4시까지 에러", UTC_Z, local(UTC_Z, 19, 14), local(UTC_Z, 19, 16)),
    ("오후 2시 10분에 무슨 일", SEOUL, local(SEOUL, 20, 13, 55), local(SEOUL, 20, 14, 25)),
    ("오후 2~4시 에러", SEOUL, local(SEOUL, 20, 14), local(SEOUL, 20, 16)),
    ("지난주", SEOUL, local(SEOUL, 9, 0), local(SEOUL, 16, 0)),
    ("이번 주", SEOUL, local(SEOUL, 16, 0), local(SEOUL, 20, 21)),
    ("오늘", SEOUL, local(SEOUL, 20, 0), local(SEOUL, 20, 21)),
    ("새벽", SEOUL, local(SEOUL, 20, 0), local(SEOUL, 20, 6)),
    ("어젯밤", SEOUL, local(SEOUL, 19, 18), local(SEOUL, 20, 6)),
    ("그저께 저녁", SEOUL, local(SEOUL, 18, 18), local(SEOUL, 19, 0)),
    ("1시간 전부터", UTC_Z, local(UTC_Z, 20, 11), NOW),
    ("2일 전", UTC_Z, local(UTC_Z, 18, 0), local(UTC_Z, 19, 0)),
    ("11월 19일", SEOUL, local(SEOUL, 19, 0), local(SEOUL, 20, 0)),
    ("db-01에서 오전 10시부터 2시까지", SEOUL, local(SEOUL, 20, 10), local(SEOUL, 20, 14)),
    # an end hour with no 오전/오후 is the first reading after the start
    ("어제 0시부터 1시 사이", UTC_Z, local(UTC_Z, 19, 0), local(UTC_Z, 19, 1)),
    ("어제 9시부터 3시까지", UTC_Z, local(UTC_Z, 19, 9), local(UTC_Z, 19, 15)),
]


@pytest.mark.parametrize(("question", "tz", "start", "end"), CASES)
def test_phrase_resolves(question: str, tz: ZoneInfo, start: datetime, end: datetime) -> None:
    r = resolve_time(question, NOW, tz)
    assert (r.range.start, r.range.end) == (start, end), r.note
    assert r.range.timezone == tz.key
    assert r.range.start.utcoffset() == start.utcoffset()  # expressed in the user's zone
    assert r.matched is not None and r.matched in question


def test_weekday_arithmetic_of_the_fixture() -> None:
    # the "last week" expectations above assume 2026-11-20 is a Friday
    assert date(2026, 11, 20).weekday() == 4
    assert date(2026, 11, 16).weekday() == 0


def test_no_time_is_a_stated_default() -> None:
    r = resolve_time("cpu on web-01", NOW, UTC_Z)
    assert (r.range.start, r.range.end) == (NOW - timedelta(hours=1), NOW)
    assert r.assumed and r.kind == "default" and r.matched is None
    assert r.note == "no time given; assumed the last 1 hour"
    r = resolve_time("cpu on web-01", NOW, UTC_Z, default_s=900)
    assert r.range.duration_s == 900 and "15 minutes" in r.note


def test_since_a_clock_time_later_than_now_means_yesterday() -> None:
    nine = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    r = resolve_time("since 10am", nine, UTC_Z)
    assert (r.range.start, r.range.end) == (local(UTC_Z, 19, 10), nine)
    assert r.assumed and "yesterday" in r.note


def test_clock_window_later_than_now_without_a_day_is_yesterday_and_says_so() -> None:
    r = resolve_time("between 14:00 and 14:30", NOW, UTC_Z)
    assert (r.range.start, r.range.end) == (local(UTC_Z, 19, 14), local(UTC_Z, 19, 14, 30))
    assert r.assumed and "yesterday" in r.note
    r = resolve_time("at 14:10", NOW, UTC_Z)
    assert (r.range.start, r.range.end) == (local(UTC_Z, 19, 13, 55), local(UTC_Z, 19, 14, 25))
    assert r.assumed


def test_point_window_is_cut_at_now() -> None:
    r = resolve_time("at 11:50", NOW, UTC_Z)
    assert (r.range.start, r.range.end) == (local(UTC_Z, 20, 11, 35), NOW)


def test_range_running_past_now_is_cut_with_a_note() -> None:
    r = resolve_time("between 11:00 and 13:00", NOW, UTC_Z)
    assert (r.range.start, r.range.end) == (local(UTC_Z, 20, 11), NOW)
    assert "cut" in r.note


def test_korean_hour_without_am_pm_uses_working_hours_and_says_so() -> None:
    r = resolve_time("10시부터", NOW, SEOUL)
    assert (r.range.start, r.range.end) == (local(SEOUL, 20, 10), local(SEOUL, 20, 21))
    assert r.assumed and "오전/오후" in r.note
    r = resolve_time("2시부터", NOW, SEOUL)  # 2 o'clock in working hours is 14:00
    assert r.range.start == local(SEOUL, 20, 14)


def test_just_now_is_the_last_15_minutes() -> None:
    for q in ("방금", "방금 전 에러", "what failed just now"):
        r = resolve_time(q, NOW, UTC_Z)
        assert r.range.duration_s == 900 and r.range.end == NOW
        assert r.assumed and r.kind == "just"


def test_since_the_last_deploy() -> None:
    deploy = datetime(2026, 11, 20, 11, 20, tzinfo=UTC)
    r = resolve_time("errors since the last deploy", NOW, UTC_Z, last_deploy=deploy)
    assert (r.range.start, r.range.end) == (deploy, NOW)
    assert not r.needs_last_deploy
    r = resolve_time("errors since the last deploy", NOW, UTC_Z)
    assert r.needs_last_deploy and r.assumed
    assert r.range.duration_s == 3600 and "last_deploy" in r.note
    r = resolve_time("배포 이후 에러", NOW, SEOUL, last_deploy=deploy)
    assert r.range.start == deploy.astimezone(SEOUL)


def test_last_week_is_the_calendar_week_and_says_so() -> None:
    r = resolve_time("last week", NOW, UTC_Z)
    assert "calendar week" in r.note and "last 7 days" in r.note


def test_yesterday_spans_a_dst_change_in_wall_clock_days() -> None:
    ny = ZoneInfo("America/New_York")  # DST ended on 2026-11-01
    now = datetime(2026, 11, 2, 12, 0, tzinfo=ny)
    r = resolve_time("yesterday", now, ny)
    assert r.range.start == datetime(2026, 11, 1, 0, 0, tzinfo=ny)
    assert r.range.end == datetime(2026, 11, 2, 0, 0, tzinfo=ny)
    # (TimeRange.duration_s subtracts wall clocks when both ends share a tzinfo, so
    # measure in UTC here)
    assert r.range.end.astimezone(UTC) - r.range.start.astimezone(UTC) == timedelta(hours=25)
    r = resolve_time("last 24 hours", now, ny)  # relative spans are real seconds
    assert r.range.end.astimezone(UTC) - r.range.start.astimezone(UTC) == timedelta(hours=24)


@pytest.mark.parametrize(
    ("question", "tz", "fragment"),
    [
        ("cpu tomorrow", UTC_Z, "future"),
        ("errors next week", UTC_Z, "future"),
        ("내일 에러", SEOUL, "future"),
        ("다음 주 cpu", SEOUL, "future"),
        ("the next 5 minutes", UTC_Z, "future"),
        ("between 14:30 and 14:00", UTC_Z, "before it starts"),
        ("from 2026-11-20T09:00:00Z to 2026-11-20T08:00:00Z", UTC_Z, "before it starts"),
        ("last 0 minutes", UTC_Z, "empty"),
        ("today at 14:00", UTC_Z, "future"),
        ("this afternoon", UTC_Z, "not started"),
        ("오늘 오후", UTC_Z, "not started"),
        ("on 2026-02-30", UTC_Z, "not a valid date"),
        ("at 2026-12-01T10:00:00Z", UTC_Z, "after now"),
        ("errors in the last 99999999 days", UTC_Z, "outside the calendar"),
        ("logs between 9999-12-31 and 10000-01-01", UTC_Z, "outside the calendar"),
    ],
)
def test_impossible_or_future_ranges_raise(question: str, tz: ZoneInfo, fragment: str) -> None:
    with pytest.raises(TimeRangeError, match=fragment):
        resolve_time(question, NOW, tz)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(TimeRangeError, match="timezone-aware"):
        resolve_time("last hour", datetime(2026, 11, 20, 12), UTC_Z)


def test_expiry_questions_keep_a_future_horizon_instead_of_failing() -> None:
    r = resolve_time("which certs expire in the next 30 days", NOW, UTC_Z)
    assert r.horizon_s == 30 * 86400
    assert r.range.end == NOW and r.assumed


def test_step_phrases_set_the_step() -> None:
    r = resolve_time("cpu every 5 minutes over the last 6 hours", NOW, UTC_Z)
    assert r.range.step_s == 300 and r.range.duration_s == 6 * 3600
    assert resolve_time("5분 단위로 지난 3시간", NOW, SEOUL).range.step_s == 300
    assert resolve_time("requests per second", NOW, UTC_Z).range.step_s is None


def test_strip_time_phrases_keeps_aggregations() -> None:
    assert strip_time_phrases("min cpu over the last 5 min") == "min cpu"
    assert strip_time_phrases("show the min of cpu for 5 min") == "show the min of cpu"
    assert strip_time_phrases("p95 latency of checkout in the last 15 minutes") == (
        "p95 latency of checkout"
    )
    assert strip_time_phrases("어제 오후 2시부터 4시까지 에러") == "에러"
    assert strip_time_phrases("how many 500s in the last hour") == "how many 500s"
    # things that look like numbers and units but are not time
    for q in (
        "latency 200ms spike",
        "top 5 hosts by cpu",
        "web-01 5xx errors",
        "errors on ip-10-0-1-17",
        "k8s-node-a3 cpu",
    ):
        assert strip_time_phrases(q) == q


def test_time_spans_point_at_the_phrases() -> None:
    q = "avg memory on web-02 for 5 min"
    spans = time_spans(q)
    assert [q[s:e] for s, e in spans] == ["for 5 min"]
    r = resolve_time(q, NOW, UTC_Z)
    assert r.spans == tuple(spans) and r.kind == "bare" and r.assumed


def test_two_time_phrases_use_the_first_and_say_which_was_ignored() -> None:
    r = resolve_time("last 2 hours of yesterday", NOW, UTC_Z)
    assert r.range.duration_s == 7200 and "ignored 'yesterday'" in r.note


def test_resolution_is_frozen() -> None:
    r = resolve_time("last hour", NOW, UTC_Z)
    with pytest.raises(ValueError):
        r.assumed = True  # type: ignore[misc]


@pytest.mark.parametrize(
    "question",
    ["", "   ", "«C5» errors «D0»", "🔥 cpu", "1 " * 500, "last " * 200, "오후 " * 200, "x" * 5000],
)
def test_odd_input_resolves_or_fails_cleanly(question: str) -> None:
    try:
        r = resolve_time(question, NOW, UTC_Z)
    except TimeRangeError:
        return
    assert r.range.end <= NOW and r.range.start < r.range.end


def test_resolution_round_trips_through_json() -> None:
    from assistant.timeparse import TimeResolution

    r = resolve_time("어제 오후 2시부터 4시까지", NOW, SEOUL)
    again = TimeResolution.model_validate(r.model_dump(mode="json"))
    assert again == r


def test_a_named_day_then_one_day_is_that_day() -> None:
    r = resolve_time("2005년 6월 14일 하루 동안 로그", NOW, UTC_Z)
    assert (r.range.start.date().isoformat(), r.range.duration_s) == ("2005-06-14", 86400)


def test_noon_to_midnight_ends_that_night() -> None:
    """ "정오부터 자정까지", "from noon to midnight" on a named day: the midnight that ends
    it, not the one that starts it (which would make an empty, backwards range)."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    for q in ("2004년 2월 11일 정오부터 자정까지 이벤트 몇 건",
              "on Feb 11 2004 from noon to midnight"):
        r = resolve_time(q, now, ZoneInfo("UTC"))
        assert (r.range.start, r.range.end) == (datetime(2004, 2, 11, 12, tzinfo=UTC),
                                                datetime(2004, 2, 12, tzinfo=UTC)), q
