"""Which value a question asks about: object questions, Korean topics, code-like names and
generic words for traffic — read from the wording and the templates, never from a system."""

from __future__ import annotations

from pathlib import Path

from assistant.content_words import text_filter, vocabulary
from assistant.value_slots import choose_slot, head_stems, object_question

TEMPLATES = [
    "clock synchronized to <*> stratum <*>",
    "worker <*> registered with hub <*>",
    "hub <*> is full",
    "tunnel <*> open through gateway <*> TLS13",
]


def test_an_object_question_names_its_value_by_the_verb() -> None:
    q = "which time server did the nodes synchronize to most often?"
    obj = object_question(q)
    assert obj is not None and q[obj[0][0]:obj[0][1]] == "nodes"
    assert obj[1].split()[0] == "synchronize"
    slot = choose_slot(q, TEMPLATES)
    assert slot is not None and slot.template == TEMPLATES[0] and slot.names("synchronize")
    assert object_question("which node synchronized most often?") is None


def test_a_korean_topic_is_the_asked_value() -> None:
    assert "hub" in head_stems("가장 자주 꽉 찼던 허브는 뭐야?") or \
        head_stems("가장 자주 꽉 찼던 hub는 뭐야?") >= {"hub"}
    slot = choose_slot("가장 자주 꽉 찼던 hub는 뭐야?", TEMPLATES)
    assert slot is not None and slot.template == "hub <*> is full"


def test_a_code_like_name_held_as_a_value_filters_the_lines() -> None:
    vocab = vocabulary(["tunnel <*> open through gateway <*> <*>", "gateway restarted"])
    tf = text_filter("which programs used a TLS13 gateway?", [], vocab)
    assert tf is not None and tf.text == "TLS13"


def test_words_for_traffic_are_not_what_lines_say() -> None:
    vocab = vocabulary(["tunnel <*> open through gateway <*>"])
    assert text_filter("which client made the most API requests?", [], vocab) is None


def test_templates_that_differ_in_a_word_are_one_slot() -> None:
    kept = ("alpha.limit is deprecated. Instead, use beta.limit",
            "alpha.size is deprecated. Instead, use beta.size",
            "alpha.mode is deprecated. Instead, use beta.mode",
            "cache warmed")
    from assistant.value_slots import merged_templates

    merged = merged_templates(kept)
    assert merged == ("<*> is deprecated. Instead, use <*>",)
    slot = choose_slot("which deprecated settings were reported?", kept + merged)
    assert slot is not None and slot.index == 0
    import re

    rx = re.compile(slot.pattern())
    assert [rx.search(t).group(1) for t in kept[:3]] == [  # type: ignore[union-attr]
        "alpha.limit", "alpha.size", "alpha.mode"]
    assert merged_templates(kept[:2] + kept[3:]) == ()  # two are not yet a family


def test_a_generated_pattern_reads_as_text() -> None:
    from assistant.facts import readable_pattern

    assert readable_pattern(r"(?i)HRESULT\s*=\s*([^\s,;()\[\]]+(?:\s*\-\s*[A-Z_][\w.]*)?)") \
        == "HRESULT = <*>"
    assert readable_pattern(r"(?i)Sandbox:.*network\-outbound") == "Sandbox: … network-outbound"
    assert readable_pattern(r"(?i)error|fail") is None  # alternatives stay as written


def test_a_word_held_in_a_placeholder_becomes_a_template_word() -> None:
    from assistant.content_words import vocabulary
    from assistant.template_values import specialized

    template = "<*>: <*> changed to <*>"
    lines = ["en0: BSSID changed to 5c:50:15:36:bc:03", "en0: BSSID changed to 00:a6:ca:db:93:cc",
             "pm: Wake changed to RTC", "en0: BSSID changed to 5c:50:15:4c:18:1c"]
    made = specialized([(template, x) for x in lines])
    assert "<*>: BSSID changed to <*>" in made and "en0: <*> changed to <*>" in made
    assert not any("5c:50" in t for t in made)  # addresses are values, not words
    assert not any("Wake changed" in t for t in made)  # seen once: not yet a word
    assert vocabulary([template, *made]).has("BSSID") and not vocabulary([template]).has("BSSID")
    # a line with another number of tokens, or other fixed words, says nothing
    assert specialized([(template, "a b c"), (template, "x: y moved to z")]) == ()


def test_a_named_subject_makes_the_column_word_an_object() -> None:
    """ "which program did sched fail to load": the subject is a name the logs say, so the
    asked "program" is what it failed to load (the slot after "loading"), read up to the
    colon that ends it; the slot must be one the verb names."""
    templates = ("sched: Error loading <*> invalid image", "sched: core files for program <*>")
    obj = object_question("which program did sched fail to load most often?")
    assert obj is not None and "load" in obj[1].split()
    slot = choose_slot("which program did sched fail to load most often?", templates,
                       named_by=obj[1])
    assert slot is not None and slot.template == templates[0]
    import re

    m = re.search(slot.pattern(), "sched: Error loading /apps/a.rts: invalid image")
    assert m is not None and m.group(1) == "/apps/a.rts"
    ko = object_question("sched가 로딩에 가장 많이 실패한 프로그램은 뭐야?")
    assert ko is not None and "load" in ko[1].split()


def test_a_value_after_a_word_starts_after_whitespace() -> None:
    """ "proxy <*>": the value is the next token ("proxy.cse.example.org:5070"), not the rest
    of a word that begins like the template's word ("proxy" + ".cse..."); a value after
    punctuation may still follow without a space ("HRESULT=0x8")."""
    import re

    slot = choose_slot("which proxy was used most?", ("open through proxy <*> HTTPS",))
    assert slot is not None
    line = "proxy.cse.example.org:5070 open through proxy proxy.cse.example.org:5070 HTTPS"
    m = re.search(slot.pattern(), line)
    assert m is not None and m.group(1) == "proxy.cse.example.org:5070"
    hr = choose_slot("which HRESULT codes were logged?", ("Failed HRESULT = <*> - E_FAIL",))
    assert hr is not None
    m = re.search(hr.pattern(), "Failed HRESULT =0x80004005 - E_FAIL")
    assert m is not None and m.group(1) == "0x80004005"


def test_hosts_are_read_from_messages_where_lines_carry_no_host() -> None:
    """A log with no host column (one program's connection log) answers "which host ..."
    from the host names its messages say: IPv4 addresses and names of three or more labels,
    never a two-label program or file name ("relay.exe", "app.log")."""
    import re
    from datetime import UTC, datetime, timedelta

    from assistant.entities import Links
    from assistant.intent import read_intent
    from assistant.ir import LogQuery, TimeRange
    from assistant.planner import PlanInput, plan_rules
    from assistant.value_slots import HOST_NAME
    from connectors.base import Catalog

    end = datetime(2031, 1, 1, tzinfo=UTC)
    templates = ("relay.exe - <*>:<*> open through gateway <*>:<*>",
                 "relay.exe - <*>:<*> close, <*> bytes sent")
    q = "which host was connected to most often?"
    p = plan_rules(PlanInput(question=q, time_range=TimeRange(start=end - timedelta(days=1),
                                                              end=end),
                             reading=read_intent(q), links=Links(),
                             catalog=Catalog(services=["relay.exe"], log_levels=[]),
                             templates=templates))
    logs = [pq.query for pq in p.queries if isinstance(pq.query, LogQuery)]
    assert logs and logs[0].extract is not None and logs[0].extract.pattern == HOST_NAME
    assert logs[0].count_by == "extracted"
    rx = re.compile(HOST_NAME)
    for line, host in [("relay.exe - mail.corp.example.com:443 open", "mail.corp.example.com"),
                       ("app.log rotated; peer 10.2.3.4:80 closed", "10.2.3.4"),
                       ("relay.exe - api.example.org:443 close", "api.example.org")]:
        m = rx.search(line)
        assert m is not None and m.group(1) == host, line
    assert rx.search("relay.exe wrote app.log") is None


def test_a_quoted_value_is_read_without_its_quotes() -> None:
    """ tag="RILJ_ACK_WL": the value is RILJ_ACK_WL, as a person would name it."""
    import re

    slot = choose_slot("which tag values were logged?",
                       ('acquire lock=<*>, flags=<*>, tag=<*>, name=<*>',))
    assert slot is not None
    m = re.search(slot.pattern(), 'acquire lock=23, flags=0x1, tag="RILJ_ACK_WL", name=x')
    assert m is not None and m.group(1) == "RILJ_ACK_WL"


def test_specialized_templates_are_kept_on_disk_per_set_of_examples(tmp_path: Path) -> None:
    """A new process reads the specialized templates instead of recomputing them; other
    examples (a store that changed) are another file; a damaged file is recomputed."""
    from assistant.template_values import _kept, specialized

    template = "Loading module <*> done"
    pairs = [(template, f"Loading module {m} done") for m in ("net", "net", "net", "fs")]
    want = specialized(pairs)
    assert want and specialized(pairs, tmp_path) == want
    files = list(tmp_path.glob("specialized-*.json"))
    assert len(files) == 1
    files[0].write_text('["Loading module cached done"]', encoding="utf-8")
    _kept.cache_clear()  # a new process
    assert specialized(pairs, tmp_path) == ("Loading module cached done",)  # read, not made
    files[0].write_text("{not json", encoding="utf-8")
    _kept.cache_clear()
    assert specialized(pairs, tmp_path) == want
    specialized(pairs[:3], tmp_path)
    assert len(list(tmp_path.glob("specialized-*.json"))) == 2


def test_the_head_of_a_compound_names_the_slot() -> None:
    """ "which wake lock tag": a tag (the compound's last noun), not the lock."""
    import re

    template = "acquire lock=<*>, flags=<*>, tag=<*>, name=<*>"
    slot = choose_slot("which wake lock tag got acquired the most?", (template,))
    assert slot is not None
    m = re.search(slot.pattern(), 'acquire lock=189667585, flags=0x1, tag="AudioMix", name=x')
    assert m is not None and m.group(1) == "AudioMix"


def test_a_word_said_twice_before_a_value_is_read_with_its_neighbour() -> None:
    """ "a failed network connection on network <*>": the value after "on network", not the
    word after the first "network"."""
    import re

    template = "NIFF: node <*> detected a failed network connection on network <*> via <*>"
    slot = choose_slot("on which networks did NIFF detect a connection?", (template,))
    assert slot is not None
    line = "NIFF: node node-1 detected a failed network connection on network 5.5.224.0 via a"
    m = re.search(slot.pattern(), line)
    assert m is not None and m.group(1) == "5.5.224.0"


def test_a_korean_list_of_kinds_names_its_slot() -> None:
    """ "브로드캐스트 액션 종류 뭐뭐 있어?", "태그들 뭐뭐 있었어?": the kinds of a value (the topic
    before 종류/들 and 뭐뭐), read at the slot the topic names."""
    import re

    slot = choose_slot("리시버가 받은 브로드캐스트 액션 종류 뭐뭐 있어?",
                       ("onReceive action: <*>", "processHandleBroadcastAction action:<*>"))
    assert slot is not None and "action" in slot.pattern().lower()
    tags = choose_slot("wake lock 잡은 태그들 뭐뭐 있었어?",
                       ("acquire lock=<*>, flags=<*>, tag=<*>, name=<*>",))
    assert tags is not None
    m = re.search(tags.pattern(), 'acquire lock=1, flags=0x1, tag="AudioMix", name=x')
    assert m is not None and m.group(1) == "AudioMix"
