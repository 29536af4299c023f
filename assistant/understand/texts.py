"""Fixed answer texts of the understanding step: refusals, forecasts, small talk."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass



REFUSAL = {
    "en": "I can't do that: I am read-only. I can look up metrics, logs, events and runbooks "
          "(for example, the runbook for this situation), but changes must be made by a person.",
    "ko": "그 작업은 할 수 없습니다. 저는 읽기 전용이라 메트릭, 로그, 이벤트, 런북을 "
          "조회만 합니다. 변경은 담당자가 직접 수행해야 합니다.",
}
FORECAST = re.compile(
    r"\bwill\b|\bgoing to\b|predict|forecast|next (?:week|month|hour|day)|tomorrow|"
    r"예측|될까|내일|다음 ?주", re.IGNORECASE)
FORECAST_TEXT = {
    "en": "I can only report what the data shows up to now; I don't forecast future values. "
          "Ask about a past window, e.g. 'the last 24 hours'.",
    "ko": "지금까지의 데이터만 보고할 수 있고, 미래 값은 예측하지 않습니다. "
          "'지난 24시간'처럼 지난 기간을 물어봐 주세요.",
}
KIND_KO = {"host": "호스트", "service": "서비스", "label": "레이블 값", "series": "시계열"}
SMALLTALK = {
    "en": "I answer questions about your metrics, logs, events and runbooks, for example "
          "'peak CPU on web-03 in the last hour' or 'why did checkout fail at 14:10?'.",
    "ko": "메트릭, 로그, 이벤트, 런북에 대한 질문에 답합니다. 예: '지난 1시간 web-03 CPU 최대값', "
          "'14:10에 checkout이 왜 실패했어?'",
}


