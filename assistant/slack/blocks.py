"""Slack messages: progress lines while the assistant works, Block Kit for the answer."""

from __future__ import annotations

from typing import Any

from assistant.models import Answer

SECTION_MAX = 3000  # Slack's limit for a section's text
FIELD_MAX = 2000
MAX_FIELDS = 10
WORKING = ":hourglass_flowing_sand: working on it..."


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 2] + " …"


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _describe_ir(ir: dict[str, Any]) -> str:
    kind = ir.get("kind", "?")
    if kind == "metric":
        return f"metric {ir.get('metric', '')}"
    if kind == "docs":
        return "runbooks"
    where = " ".join(f"{k}={ir[k]}" for k in ("service", "host") if ir.get(k))
    return f"{kind} {where}".strip()


class Progress:
    """The lines of the "working..." message, rebuilt as events arrive."""

    def __init__(self, question: str) -> None:
        self.question = question
        self.lines: list[str] = []
        self.planned = 0
        self.done = 0

    def on_plan(self, data: dict[str, Any]) -> None:
        queries = data.get("queries") or []
        self.planned = len(queries)
        if queries:
            names = ", ".join(_describe_ir(q.get("ir", {})) for q in queries)
            self.lines.append(f"planned {len(queries)} quer{'y' if len(queries) == 1 else 'ies'}"
                              f": {escape(names)}")

    def on_query(self, data: dict[str, Any]) -> None:
        self.lines.append(f":mag: running {self.done + 1}/{self.planned or '?'}: "
                          f"{escape(_describe_ir(data.get('ir', {})))}")

    def on_result(self, data: dict[str, Any]) -> None:
        self.done += 1
        ok = data.get("ok", True)
        mark = ":white_check_mark:" if ok else ":x:"
        took = data.get("elapsed_ms")
        extra = f" ({float(took):.0f} ms)" if isinstance(took, int | float) else ""
        err = f": {escape(str(data.get('error')))}" if not ok and data.get("error") else ""
        self.lines.append(f"{mark} {escape(str(data.get('purpose', 'query')))}{extra}{err}")

    def text(self) -> str:
        body = "\n".join(self.lines[-12:])
        return _clip(f"{WORKING}\n{body}" if body else WORKING, SECTION_MAX)


def answer_blocks(ans: Answer) -> list[dict[str, Any]]:
    """The final answer: text, key facts as fields, the queries run, sources, notes."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": _mrkdwn(_clip(escape(ans.answer), SECTION_MAX))},
    ]
    if ans.facts:
        fields = []
        for f in ans.facts[:MAX_FIELDS]:
            where = ", ".join(f"{k}={v}" for k, v in sorted(f.labels.items()))
            value = f.display or f"{f.value} {f.unit}".strip()
            at = f" at {f.at:%H:%M:%S}" if f.at else ""
            line = f"*{escape(f.name)}*\n{escape(value)}{at}" + (
                f"\n_{escape(where)}_" if where else "")
            fields.append(_mrkdwn(_clip(line, FIELD_MAX)))
        blocks.append({"type": "section", "fields": fields})
    telemetry = any(q.ir.get("kind") != "docs" for q in ans.queries)
    if ans.time_range and telemetry:  # documents alone rest on no time window
        tr = ans.time_range
        blocks.append({"type": "context", "elements": [_mrkdwn(
            f"window {tr.start:%Y-%m-%d %H:%M} – {tr.end:%Y-%m-%d %H:%M} {tr.timezone}"
            f" · {ans.elapsed_ms:.0f} ms · planner {ans.planner}")]})
    if ans.queries:
        lines = []
        for q in ans.queries:
            status = "ok" if q.ok else f"FAILED: {q.error}"
            lines.append(f"# {q.purpose} via {q.connector} ({q.elapsed_ms:.0f} ms, {status})")
            lines.append(q.native.strip())
        code = _clip("\n".join(lines).replace("```", "'''"), SECTION_MAX - 20)
        blocks.append({"type": "section", "text": _mrkdwn(
            f"*Queries run*\n```{escape(code)}```")})
    if ans.sources:
        items = [f"• `{escape(s.source)}`" + (f" § {escape(s.heading)}" if s.heading else "")
                 for s in ans.sources[:8]]
        blocks.append({"type": "section", "text": _mrkdwn(
            _clip("*Sources*\n" + "\n".join(items), SECTION_MAX))})
    notes = list(ans.notes)
    if not ans.grounded:
        notes.append("a number in this answer is not backed by the query results")
    if notes:
        blocks.append({"type": "context", "elements": [
            _mrkdwn(_clip(escape("note: " + n), FIELD_MAX)) for n in notes[:5]]})
    return blocks


def fallback_text(ans: Answer) -> str:
    """The plain text Slack shows in notifications (and where blocks cannot render).

    Slack parses this text as mrkdwn too, so data-derived text is escaped here as well:
    an event title holding `<!channel>` must not notify a channel.
    """
    return _clip(escape(ans.answer), 3900)
