"""Understanding a question: read it once into a `Reading`, then plan.

* `reading`: the `Reading` (language, time, linked mentions, intent, the logs' words)
* `planning`: rules, a model or both turn a reading into queries
* `understanding`: `understand`, the two steps with the window fitted to the data
* `series`, `vocabulary`, `text_filter`, `followup`, `window`: the parts they use
"""

from assistant.understand.reading import Reading, read
from assistant.understand.understanding import Understanding, understand

__all__ = ["Reading", "Understanding", "read", "understand"]
