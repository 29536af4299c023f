"""Step 2 of the flow: the chosen planner (rules, a model, or both) turns the reading
into queries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.errors import OpsaError
from assistant.language import detect_language
from assistant.planner import Plan, PlanInput, PlannedQuery, plan_rules

if TYPE_CHECKING:
    from assistant.services import Services



def make_plan(inp: PlanInput, services: Services, planner: str, question: str) -> Plan:
    rules = plan_rules(inp)
    if planner == "rules" or rules.refusal or rules.clarification:
        return rules
    chat = services.chat
    if chat is None:
        rules.notes.append(f"the {planner} planner needs a model "
                           f"({services.problems.get('llm', 'none configured')}); used rules")
        return rules
    from assistant.llm_planner import plan_with_llm

    llm = services.settings.llm
    try:
        queries = plan_with_llm(chat, question, inp.time_range, inp.catalog, context="",
                                schema=llm.plan_schema,
                                examples=bank_shots(question, services)
                                if llm.plan_schema == "full" else None)
    except OpsaError as exc:
        rules.notes.append(f"the model's plan was rejected ({exc}); used rules")
        return rules
    llm_plan = Plan(queries=[PlannedQuery(q, "main", "planned by the model") for q in queries])
    if planner == "hybrid":
        # Rules decide the shape; the model adds what rules did not find.
        have = {q.query.model_dump_json() for q in rules.queries}
        extra = [q for q in llm_plan.queries if q.query.model_dump_json() not in have]
        if not rules.queries or all(q.purpose == "docs" for q in rules.queries):
            rules.queries = extra + rules.queries
        return rules
    return llm_plan if llm_plan.queries else rules


def bank_shots(question: str, services: Services) -> list[dict[str, str]]:
    """The exemplars nearest to `question` as few-shot turns for the full-schema planner
    (`assistant.shapes`): an operator's question and its IR skeleton, slots as
    placeholders; none when the bank or the embedder cannot be loaded."""
    import json

    from assistant.shapes import few_shot

    settings = services.settings
    try:
        shots = few_shot(question, settings.llm.few_shot, data_dir=settings.data_dir,
                         lang=detect_language(question))
    except (OpsaError, OSError, RuntimeError):
        return []
    return [{"question": s["question"],
             "plan": json.dumps({"queries": s["skeleton"]["queries"]}, ensure_ascii=False)}
            for s in shots if s["skeleton"].get("queries")]

