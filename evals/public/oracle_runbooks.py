"""Expected answers for the runbook cases: key phrases checked against the runbook's text.

A case's `oracle:` mapping is either

* `file` (the runbook's path relative to `runbooks/openshift/`), `section` (a `## ` heading:
  Meaning, Impact, Diagnosis, Mitigation) and `phrases` (at least 2, quoted verbatim from
  that section; no backticks, so an answer that drops Markdown still contains them). Each
  phrase must occur in the section once whitespace is normalised, or the case raises. A
  `runbook_diagnosis` case asks for the first step with its command: one of its phrases
  must lie in the section's first command block (the first code block, fenced or
  indented, holding a command line such as `$ oc get ...`);
* or `alert` alone, for a "none" case: no runbook is named after that alert (any case) and
  no runbook mentions it, which the oracle verifies.

A section runs from its `## ` heading to the next `#`/`##` heading outside a code fence,
its `### ` subsections included.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

_MIN_PHRASES = 2
_H1_H2 = re.compile(r"^#{1,2} (.+?)\s*$")
_COMMANDS = ("oc", "kubectl", "etcdctl", "ceph", "systemctl", "journalctl", "virtctl", "curl",
             "chroot", "dig", "export", "rados", "rbd", "sysctl", "lsof", "cat", "df")
_COMMAND = re.compile(rf"^(?:\$ |# )?(?:{'|'.join(_COMMANDS)})(?:\s|$)")


def norm(text: str) -> str:
    return " ".join(text.split())


def alerts_dir(root: Path) -> Path:
    return root / "runbooks" / "openshift" / "alerts"


@cache
def sections(path: Path) -> dict[str, list[str]]:
    """The lines of each `## ` section of one runbook, headings outside fences only."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
        m = None if fenced else _H1_H2.match(line)
        if m:
            current = out.setdefault(m.group(1), []) if line.startswith("## ") else None
        elif current is not None:
            current.append(line)
    return out


def code_blocks(lines: list[str]) -> list[str]:
    """The section's code blocks in order: fenced ones, and runs of lines indented by 4+
    spaces after a blank line outside any list item's fence."""
    blocks: list[list[str]] = []
    fenced, prev_blank, in_indent = False, True, False
    for line in lines:
        if line.strip().startswith("```"):
            fenced = not fenced
            if fenced:
                blocks.append([])
            in_indent = False
            continue
        if fenced:
            blocks[-1].append(line)
        elif line.startswith("    ") and line.strip() and (prev_blank or in_indent):
            if not in_indent:
                blocks.append([])
            blocks[-1].append(line)
            in_indent = True
        elif line.strip():
            in_indent = False
        prev_blank = not line.strip()
    return ["\n".join(b) for b in blocks]


def first_command_block(lines: list[str]) -> str | None:
    for block in code_blocks(lines):
        if any(_COMMAND.match(ln.strip()) for ln in block.splitlines()):
            return block
    return None


def _absent(root: Path, alert: str) -> None:
    low = alert.lower()
    for path in alerts_dir(root).rglob("*.md"):
        if path.stem.lower() == low:
            raise ValueError(f"{alert} has a runbook: {path}")
        if low in path.read_text(encoding="utf-8").lower():
            raise ValueError(f"{alert} is mentioned in {path}")


def _phrases(case: dict[str, Any], root: Path) -> tuple[list[str], str]:
    o = case["oracle"]
    path = root / "runbooks" / "openshift" / o["file"]
    secs = sections(path)
    if o["section"] not in secs:
        raise ValueError(f"{o['file']} has no section {o['section']!r}: {sorted(secs)}")
    lines = secs[o["section"]]
    body = norm("\n".join(lines))
    phrases = [str(p) for p in o["phrases"]]
    if len(phrases) < _MIN_PHRASES:
        raise ValueError(f"{len(phrases)} phrases; at least {_MIN_PHRASES} needed")
    for p in phrases:
        if "`" in p:
            raise ValueError(f"phrase {p!r} carries Markdown backticks")
        if norm(p) not in body:
            raise ValueError(f"phrase {p!r} is not in {o['file']} ## {o['section']}")
    if case["class"] == "runbook_diagnosis":
        first = first_command_block(lines)
        if first is None:
            raise ValueError(f"{o['file']} ## {o['section']} has no command block")
        if not any(norm(p) in norm(first) for p in phrases):
            raise ValueError(f"no phrase is in the first command block: {first.strip()!r}")
    return phrases, o["file"]


def compute(case: dict[str, Any], root: Path) -> dict[str, Any]:
    """One runbook case's expected answer; raises when a phrase is not in the runbook."""
    try:
        if "alert" in case["oracle"]:
            _absent(root, str(case["oracle"]["alert"]))
            none = True
        else:
            phrases, source = _phrases(case, root)
            none = False
    except (KeyError, ValueError, OSError) as e:
        raise ValueError(f"case {case['id']}: {e}") from e
    if none != bool(case.get("none", False)):
        raise ValueError(f"case {case['id']}: none is {case.get('none')} but the oracle says "
                         f"{none}")
    if none:
        return {"none": True, "values": [], "phrases": []}
    return {"none": False, "values": [], "phrases": phrases, "source": source}
