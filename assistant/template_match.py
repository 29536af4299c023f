"""Which log templates a question is about, by meaning and by words.

The words of a question are not always the words of its logs: a Korean question over
English logs ("인스턴스 종료" for "Terminating instance"), a paraphrase ("a node stop
responding" for "not responding"), or a word so common in the logs that a substring filter
on it counts the wrong lines ("instance" in nearly every line of a cloud controller). Here
each mined template is reduced to its fixed text (its placeholders, host names and paths
removed: its *skeleton*; templates that differ only in those share one), embedded once per
store with the bundled multilingual embedder and cached (in memory, and next to the store),
and scored for the question's content:

    score = cosine(query: content, passage: skeleton) + LEXICAL_WEIGHT * word overlap

where the overlap is the share of the question's content words (Korean ones through the
general glossary of `content_words`) that the skeleton says. The best skeleton, and those
within `SET_DELTA` of it with the same word overlap (one meaning written by several
templates), become a regular expression over their fixed text.

A question about something the logs never say must answer "no lines", not the nearest
template: a choice with no word in common needs cosine >= `MEANING_ONLY` (calibrated on the
tests in tests/test_template_match.py: unrelated questions score up to ~0.85 against the
nearest skeleton, paraphrases of a template ~0.86-0.90), and one with some words in common
needs >= `WITH_WORDS`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.content_words import (
    KO_GLOSSARY,
    LEVEL_OF,
    MENTION,
    QUESTION_WORDS,
    TextFilter,
    Vocabulary,
    Word,
    content_words,
    stem,
)
from assistant.errors import OpsaError

log = logging.getLogger(__name__)

LEXICAL_WEIGHT = 0.05
"""What all of the question's content words being in a template adds to its cosine."""
MEANING_ONLY = 0.865
"""Least cosine for a template that shares no word with the question."""
WITH_WORDS = 0.845
"""Least cosine for a template that says some of the question's words."""
ALL_WORDS = 0.78
"""Least cosine for a template that says all of them."""
SET_DELTA = 0.02
"""Templates saying the same words and scoring this close to the best join it."""
SIBLING = 0.95
"""Templates this similar to the best one (cosine of their own vectors) are the same message
written with other fixed words ("Could not connect to proxy" / "... through proxy")."""
SIBLING_DELTA = 0.05
MAX_SET = 8
MAX_TEMPLATES = 1500
"""More skeletons than this are not embedded and the words alone decide. Embedding runs once
per template set (then read back from the data directory): measured 0.3-11 s for the 16-304
skeletons of the LogHub stores on 2 shared cores (~30-70 skeletons/s), so this cap is about
30 s once."""

_PLACEHOLDER = "<*>"
_HOSTLIKE = re.compile(r"^[\w-]+(?:\.[\w-]+){2,}(?::\S*)?$|/")
_PUNCT_ONLY = re.compile(r"^[\W_]+$")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def skeleton_pieces(template: str) -> list[str]:
    """The runs of fixed text of a template, split where a placeholder, host name or path
    was ("<*>:<*> error : Could not connect to proxy a.b.c:<*> - <*>" ->
    ["error : Could not connect to proxy", "-"])."""
    pieces: list[list[str]] = [[]]
    for tok in template.split():
        if _PLACEHOLDER in tok or _HOSTLIKE.search(tok):
            if pieces[-1]:
                pieces.append([])
            continue
        pieces[-1].append(tok)
    return [" ".join(p) for p in pieces if p and not all(_PUNCT_ONLY.match(t) for t in p)]


def skeleton(template: str) -> str:
    """The template's fixed text as one string ("" when it is all placeholders)."""
    return " ".join(skeleton_pieces(template)).strip()


def template_pattern(skeletons: Sequence[str], members: Sequence[Sequence[str]]) -> str:
    """A case-insensitive regular expression matching the lines of these templates."""
    alts: list[str] = []
    for sk, temps in zip(skeletons, members, strict=True):
        pieces = skeleton_pieces(temps[0]) if temps else [sk]
        parts = [r"\s+".join(re.escape(w) for w in p.split()) for p in pieces]
        alt = ".*".join(p for p in parts if p)
        if alt and alt not in alts:
            alts.append(alt)
    if len(alts) == 1:
        return "(?i)" + alts[0]
    return "(?i)(?:" + "|".join(alts) + ")"


PHRASE_CHARS = 30
"""A phrase filter is kept short enough to read in an answer's headline."""


def common_phrase(templates: Sequence[str], others: Sequence[str]) -> str | None:
    """The longest run of words in the fixed text of every one of `templates` that no
    template of `others` (lowercased) contains, or None: a readable filter equal to the
    templates' regular expression on their fixed text."""
    runs: set[str] | None = None
    for t in templates:
        mine: set[str] = set()
        for piece in skeleton_pieces(t):
            ws = piece.split()
            mine.update(" ".join(ws[i:j]) for i in range(len(ws))
                        for j in range(i + 1, len(ws) + 1))
        low = {r.lower(): r for r in mine}
        runs = set(low) if runs is None else runs & set(low)
        if runs is None or not runs:
            return None
    assert runs is not None
    best = None
    unique = [r for r in runs if len(r) >= 8 and _TOKEN.search(r)
              and not _PUNCT_ONLY.match(r.split()[0]) and not _PUNCT_ONLY.match(r.split()[-1])
              and not any(r in o for o in others)]
    if unique:  # the longest that reads as a phrase, not the whole template
        short = [r for r in unique if len(r) <= PHRASE_CHARS]
        best = max(short, key=len) if short else min(unique, key=len)
    if best is None:
        return None
    src = templates[0]
    k = src.lower().find(best)
    return src[k:k + len(best)] if k >= 0 else best


def _stems_of(text: str) -> set[str]:
    out: set[str] = set()
    for m in _TOKEN.finditer(text):
        w = m.group(0)
        out.add(stem(w))
        parts = _CAMEL.findall(w)
        if len(parts) > 1:
            out.update(stem(p) for p in parts)
    return out


def _says(stems_: set[str], low: str, word_stems: Sequence[str]) -> bool:
    """A template (its stems and lowercased text) says one of a word's stems: the same
    stem, one a prefix of the other ("deprecation" / "deprecated", "terminat" /
    "terminating") when both are 5+ letters, or a multi-word spelling in its text."""
    for s in word_stems:
        if " " in s:
            if s in low:
                return True
            continue
        if s in stems_:
            return True
        if len(s) >= 5 and any(len(t) >= 5 and (t.startswith(s) or s.startswith(t))
                               for t in stems_):
            return True
    return False


@dataclass(frozen=True)
class TemplateChoice:
    """The templates a question is about."""

    skeletons: tuple[str, ...]
    templates: tuple[str, ...]
    shown: tuple[str, ...]
    """One template per chosen skeleton, as the store writes it."""
    phrase: str | None
    """Fixed text all of them say and no other template does ("Could not connect")."""
    pattern: str
    cosine: float
    overlap: float
    margin: float
    """Best chosen score minus the best score left out."""

    @property
    def confident(self) -> bool:
        return self.margin >= SET_DELTA and (self.overlap >= 1.0 or self.cosine >= MEANING_ONLY)


class TemplateIndex:
    """A store's templates grouped by skeleton, with their vectors (computed lazily)."""

    def __init__(self, templates: Sequence[str], embedder_name: str = "e5",
                 cache_dir: Path | None = None) -> None:
        groups: dict[str, list[str]] = {}
        for t in templates:
            sk = skeleton(t)
            if _TOKEN.search(sk):
                groups.setdefault(sk, []).append(t)
        self.skeletons = list(groups)
        self.members = [groups[s] for s in self.skeletons]
        self.lower = [s.lower() for s in self.skeletons]
        self.stems = [_stems_of(" ".join(m)) for m in self.members]
        self.embedder_name = embedder_name
        self.cache_dir = cache_dir
        self._vectors: np.ndarray | None = None
        self._failed = False
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.skeletons)

    def _key(self) -> str:
        h = hashlib.sha1("\n".join(self.skeletons).encode(), usedforsecurity=False)
        return f"template-vectors-{self.embedder_name}-{h.hexdigest()[:16]}.npy"

    def vectors(self) -> np.ndarray | None:
        """One unit vector per skeleton, or None when no embedder can be loaded."""
        with self._lock:
            if self._vectors is not None or self._failed:
                return self._vectors
            if not self.skeletons or len(self.skeletons) > MAX_TEMPLATES:
                self._failed = True
                return None
            path = self.cache_dir / self._key() if self.cache_dir else None
            if path is not None and path.is_file():
                try:
                    vec = np.load(path)
                    if vec.shape[0] == len(self.skeletons):
                        self._vectors = vec.astype(np.float32)
                        return self._vectors
                except (OSError, ValueError):
                    pass
            try:
                from assistant.embedder import get_embedder

                vec = get_embedder(self.embedder_name).embed_documents_array(self.skeletons)
            except (OpsaError, OSError, RuntimeError) as exc:
                log.info("template vectors unavailable: %s", exc)
                self._failed = True
                return None
            self._vectors = vec.astype(np.float32)
            if path is not None:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    for old in path.parent.glob(f"template-vectors-{self.embedder_name}-*.npy"):
                        old.unlink()  # vectors of templates the store no longer has
                    np.save(path, self._vectors)
                except OSError:
                    pass
            return self._vectors

    def query_vector(self, text: str) -> np.ndarray | None:
        try:
            from assistant.embedder import get_embedder

            return np.asarray(get_embedder(self.embedder_name).embed_query(text),
                              dtype=np.float32)
        except (OpsaError, OSError, RuntimeError):
            return None

    def said(self, words: Sequence[Word]) -> np.ndarray:
        """Per skeleton and word, whether the skeleton says the word (a bool matrix)."""
        out = np.zeros((len(self.skeletons), len(words)), dtype=bool)
        for i, (st, low) in enumerate(zip(self.stems, self.lower, strict=True)):
            for j, w in enumerate(words):
                out[i, j] = _says(st, low, w.stems)
        return out

    def overlaps(self, words: Sequence[Word]) -> np.ndarray:
        """Per skeleton, the share of `words` it says."""
        if not words:
            return np.zeros(len(self.skeletons), dtype=np.float32)
        return self.said(words).mean(axis=1).astype(np.float32)

    def choose(self, content: str, words: Sequence[Word]) -> TemplateChoice | None:
        """The templates `content` (the question's content, as text) is about, with `words`
        (its content words) as lexical evidence; None when none is close enough.

        The chosen set is the best template and those that say the same of the question's
        words and score within `SET_DELTA` of it, plus its siblings (the same message with
        other fixed words: template cosine >= `SIBLING`) that score within `SIBLING_DELTA`.
        """
        if not self.skeletons or not content.strip():
            return None
        vecs = self.vectors()
        if vecs is None:
            return None
        q = self.query_vector(content)
        if q is None:
            return None
        cos = vecs @ q
        said = self.said(words) if words else np.zeros((len(self.skeletons), 0), dtype=bool)
        ov = said.mean(axis=1) if words else np.zeros(len(self.skeletons))
        score = cos + LEXICAL_WEIGHT * ov
        order = np.argsort(-score)
        b = int(order[0])
        need = ALL_WORDS if ov[b] >= 1.0 else WITH_WORDS if ov[b] > 0 else MEANING_ONLY
        if cos[b] < need:
            return None
        sib = vecs @ vecs[b]
        same = (said == said[b]).all(axis=1)
        # Templates saying every one of two or more content words are one reading of the
        # question when their meanings are close; otherwise only the nearly tied ones.
        delta = SIBLING_DELTA if ov[b] >= 1.0 and len(words) >= 2 else SET_DELTA
        chosen = [int(i) for i in order
                  if cos[i] >= need and ((same[i] and score[i] >= score[b] - delta)
                                         or (sib[i] >= SIBLING
                                             and cos[i] >= cos[b] - SIBLING_DELTA))]
        chosen = chosen[:MAX_SET]
        rest = [float(score[i]) for i in order if int(i) not in chosen]
        margin = float(min(score[i] for i in chosen)) - (rest[0] if rest else 0.0)
        sks = tuple(self.skeletons[i] for i in chosen)
        temps = tuple(t for i in chosen for t in self.members[i])
        others = [t.lower() for i in range(len(self.members)) if i not in chosen
                  for t in self.members[i]]
        return TemplateChoice(skeletons=sks, templates=temps,
                              shown=tuple(self.members[i][0] for i in chosen),
                              phrase=common_phrase([self.members[i][0] for i in chosen], others),
                              pattern=template_pattern(sks, [self.members[i] for i in chosen]),
                              cosine=float(cos[b]), overlap=float(ov[b]), margin=margin)


_INDEXES: dict[tuple[str, tuple[str, ...], str], TemplateIndex] = {}
_INDEXES_LOCK = threading.Lock()


def template_index(templates: Sequence[str], embedder_name: str = "e5",
                   cache_dir: Path | None = None) -> TemplateIndex:
    """The (memoised) index over this set of templates."""
    key = (embedder_name, tuple(templates), str(cache_dir))
    with _INDEXES_LOCK:
        idx = _INDEXES.get(key)
        if idx is None:
            if len(_INDEXES) >= 16:
                _INDEXES.pop(next(iter(_INDEXES)))
            idx = _INDEXES[key] = TemplateIndex(templates, embedder_name, cache_dir)
        return idx


def _split(text: str) -> list[str]:
    return text.split()


_KO_PARTICLE = re.compile(
    r"(?:에서|으로|에게|이랑|라는|이라는|다는|이야|였어|이었어|인가|인지|은|는|이|가|을|를|에|의|"
    r"로|와|과|도|만)$")
KO_SCAFFOLD = frozenset(_split(
    "몇 번 줄 개 건 회 로그 메시지 가장 많이 제일 언제 얼마나 총 전체 모두 뭐 뭐야 무엇 어떤 어느 "
    "게 것 거 수 있었어 있었나 있었나요 있어 있나 있나요 보여줘 보여 알려줘 알려 줘 몇번 횟수 "
    "찍혔어 나왔어 나온 남긴 기록된 처음 마지막 최근 이 그 저 동안 사이 부터 까지 관련 포함 언급 "
    "들어간"))
"""Korean words that shape a question rather than say what its lines are about."""


def content_tokens(question: str, taken: Sequence[tuple[int, int]]) -> list[tuple[int, str]]:
    """The question's tokens outside its taken spans (times, hosts, services) that are not
    question words or severities, with where each starts."""
    chars = list(question)
    for a, b in taken:
        chars[a:b] = " " * (b - a)
    out: list[tuple[int, str]] = []
    for m in re.finditer(r"\S+", "".join(chars)):
        w = m.group(0).strip("?!.,;:'\"()[]")
        if not w:
            continue
        at = m.start() + m.group(0).find(w)
        if re.search(r"[가-힣]", w):
            base = _KO_PARTICLE.sub("", w) or w
            if w in KO_SCAFFOLD or base in KO_SCAFFOLD or base in LEVEL_OF:
                continue
            out.append((at, w))
        elif w.lower() not in QUESTION_WORDS and w.lower() not in LEVEL_OF:
            out.append((at, w))
    return out


def content_text(question: str, taken: Sequence[tuple[int, int]]) -> str:
    """The question's content as the text to embed ("how many times did a node stop
    responding?" -> "node stop responding")."""
    return " ".join(w for _, w in content_tokens(question, taken))


_INITIAL = ("k", "k", "n", "t", "t", "r", "m", "p", "p", "s", "s", "", "j", "j", "j", "k", "t",
            "p", "h")
_FINAL = ("", "k", "k", "k", "n", "n", "n", "t", "r", "k", "m", "r", "r", "r", "p", "r", "m", "p",
          "p", "t", "t", "nk", "t", "t", "k", "t", "p", "t")
_EN_SOUNDS = (("tion", "sion"), ("ph", "f"), ("th", "s"), ("sh", "s"), ("ch", "j"), ("ck", "k"),
              ("x", "ks"), ("qu", "kw"), ("q", "k"))
LOANWORD_CONSONANTS = 3
"""Shorter consonant outlines match too many words to be evidence ("데이터" / "data": t)."""


def hangul_outline(word: str) -> str:
    """The consonants of a Korean word as its English loan would spell them ("익스큐터" ->
    "kskt", "샌드박스" -> "sntpks"): initials and finals mapped to the English sounds Korean
    writes them for, vowels dropped."""
    out = []
    for ch in word:
        c = ord(ch) - 0xAC00
        if 0 <= c < 11172:
            out += [_INITIAL[c // 588], _FINAL[c % 28]]
    return re.sub(r"(.)\1+", r"\1", "".join(out))


def english_outline(word: str) -> str:
    """The consonants of an English word as Korean hears them ("executor" -> "kskt",
    "sandbox" -> "sntpks"): voiced and voiceless stops merged, a final or pre-consonant r
    silent, vowels, w and y dropped."""
    w = re.sub(r"(.)\1+", r"\1", word.lower())
    for a, b in _EN_SOUNDS:
        w = w.replace(a, b)
    w = re.sub(r"c(?=[eiy])", "s", w).replace("c", "k")
    w = re.sub(r"g(?=[eiy])", "j", w)
    w = re.sub(r"ng(?![aeiou])", "nk", w)
    w = re.sub(r"r(?![aeiouy])", "", w)
    w = w.translate(str.maketrans("bdgzfvlwy", "ptkjpprww")).replace("w", "")
    return re.sub(r"(.)\1+", r"\1", re.sub(r"[aeiou]", "", w))


_OUTLINES: dict[int, tuple[Vocabulary, dict[str, set[str]]]] = {}


def _outlines(vocab: Vocabulary) -> dict[str, set[str]]:
    """The store's words (4+ letters) by consonant outline, as their stems."""
    held = _OUTLINES.get(id(vocab))
    if held is not None and held[0] is vocab:
        return held[1]
    out: dict[str, set[str]] = {}
    for text, toks in vocab.lines:
        for st, a, b in toks:
            word = text[a:b]
            if len(word) >= 4 and word.isalpha():
                low = word.lower()
                forms = {low, low[:-1] if low.endswith(("ed", "s")) else low,
                         low[:-3] if low.endswith("ing") else low}  # "rebalanced": 리밸런스
                for o in {english_outline(f) for f in forms}:
                    if len(o) >= LOANWORD_CONSONANTS:
                        out.setdefault(o, set()).add(st)
    if len(_OUTLINES) > 8:
        _OUTLINES.clear()
    _OUTLINES[id(vocab)] = (vocab, out)
    return out


def loanwords(question: str, taken: Sequence[tuple[int, int]], vocab: Vocabulary,
              known: Sequence[Word]) -> list[Word]:
    """Korean words (outside `known` ones) that sound like an English word of the logs:
    "익스큐터" for "executor", "샌드박스" for "sandbox"; loanwords carry most of a Korean
    ops question's subject and are written in Hangul."""
    if not vocab:
        return []
    outlines = _outlines(vocab)
    out: list[Word] = []
    for at, tok in content_tokens(question, taken):
        if not _HANGUL.search(tok) or any(w.span[0] < at + len(tok) and at < w.span[1]
                                          for w in known):
            continue
        base = _KO_PARTICLE.sub("", tok) or tok
        if len(base) < 2:
            continue
        stems = {x for x in outlines.get(hangul_outline(base), ())
                 if x not in QUESTION_WORDS and x not in LEVEL_OF}  # "이벤트": lines
        if stems and len(hangul_outline(base)) >= LOANWORD_CONSONANTS:
            out.append(Word(base, (at, at + len(base)), tuple(sorted(stems))))
    return out


GENERIC_SHARE = 0.2
"""A text in at least this share of the templates (and in 3+) is too common to be the
subject of a question: "instance" in a cloud controller's logs."""
_HANGUL = re.compile(r"[가-힣]")


def _generic(tf: TextFilter, index: TemplateIndex) -> bool:
    if tf.text is not None:
        low = tf.text.lower()
        hits = sum(low in " ".join(m).lower() for m in index.members)
    elif tf.pattern is not None:
        rx = re.compile(tf.pattern)
        hits = sum(bool(rx.search(" ".join(m))) for m in index.members)
    else:
        return False
    return hits >= 3 and hits >= GENERIC_SHARE * len(index)


def _absent_name(question: str, words: Sequence[Word], vocab: Vocabulary) -> Word | None:
    """A name the question gives (a capitalised word, not its first, not an acronym) that
    the logs never say: "how many connections did Outlook open?" in logs without Outlook."""
    first = re.search(r"[A-Za-z가-힣]", question)
    for w in words:
        if _HANGUL.search(w.text) or not w.text[:1].isupper() or w.text.isupper() \
                or len(w.text) < 3:
            continue
        if first is not None and w.span[0] == first.start():
            continue
        if not vocab.has(w.text):
            return w
    return None


def _left_out(tf: TextFilter, words: Sequence[Word], vocab: Vocabulary) -> list[Word]:
    """Content words the logs say that the lexical filter leaves out ("SQM" in "SQM upload
    failures" filtered on "fail")."""
    return [w for w in words if w.span not in tf.spans and w.text.lower() not in LEVEL_OF
            and not any(a <= w.span[0] < b for a, b in tf.spans)
            and (not _HANGUL.search(w.text) or w.text not in KO_GLOSSARY)
            and any(vocab.has(s) for s in w.stems)]


def _words_of(question: str, taken: Sequence[tuple[int, int]], tf: TextFilter) -> list[Word]:
    """The question's content words that make up the filter `tf`."""
    return [w for w in content_words(question, taken)
            if any(a <= w.span[0] < b for a, b in tf.spans)]


def _says_more(choice: TemplateChoice, words: Sequence[Word], tf: TextFilter | None) -> bool:
    """The chosen templates say more of the question's words than the lexical filter
    covers ("opened ... through the proxy": three words, against "connections through")."""
    return tf is not None and round(choice.overlap * len(words)) > len(tf.words)


def refine(question: str, taken: Sequence[tuple[int, int]], tf: TextFilter | None,
           vocab: Vocabulary, index: TemplateIndex | None,
           levels: frozenset[str] | None = None, leveled: bool = False,
           counts: bool = False) -> TextFilter | None:
    """The lexical filter `tf`, or the templates the question means where its words fall
    short: none of them is in the logs (a paraphrase, or Korean words over English logs),
    the one found is in a large share of the templates, or it is only a severity word.

    An exact, specific lexical match is kept; so is a word the question asks for literally
    ("lines mentioning X"). A question naming something the logs never say gets a filter on
    that name (its answer is "no lines"), never the nearest template. A severity word is
    a word of the lines only where the store has no such level (`levels`); a common word
    with a severity filter (`leveled`: "connection errors") is specific enough. A question
    counting lines (`counts`) about words the logs never say gets "no lines".
    """
    if index is None or not len(index):
        return tf
    if tf is not None and not tf.found and MENTION.search(question):
        return tf  # asked for literally
    if tf is not None and not tf.found and all(vocab.has(w) for w in tf.words):
        # words the logs say but never together as written: a template saying all of
        # them ("Windows Update initialize" -> "initialized by client WindowsUpdateAgent")
        together = index.choose(content_text(question, taken), _words_of(question, taken, tf))
        if together is None or together.overlap < 1.0:
            return tf
        return TextFilter(text=together.phrase,
                          pattern=None if together.phrase else together.pattern,
                          words=tf.words, found=True, spans=tf.spans,
                          templates=together.shown, close_call=not together.confident)
    words = [w for w in content_words(question, taken)
             if not w.soft and (w.text.lower() not in LEVEL_OF
                                or (levels is not None
                                    and LEVEL_OF[w.text.lower()] not in levels))]
    text = content_text(question, taken)
    if not [w for w in words if w.text.lower() not in LEVEL_OF] and not _HANGUL.search(text):
        return tf
    words += loanwords(question, taken, vocab, content_words(question, taken))
    words.sort(key=lambda w: w.span)
    severity = [w for w in content_words(question, taken) if w.text.lower() in LEVEL_OF]
    leveled = leveled and bool(severity)
    need_all = need_sure = False
    if tf is not None and tf.found:
        rest = [w for at, w in content_tokens(question, taken)
                if not any(a <= at < b for a, b in tf.spans)]
        if not rest:
            return tf  # the words found are all the question says: nothing to choose by
        if (leveled or not _generic(tf, index)) \
                and not all(x.lower() in LEVEL_OF for x in tf.words):
            if _left_out(tf, words, vocab):
                need_all = True  # other words the logs say are left out: a template
                # saying all of them may replace the filter, nothing less
            elif any(_HANGUL.search(w) for w in rest):
                need_sure = True  # Korean words the glossary does not reach: only a
                # clear choice replaces the filter
            else:
                return tf
    missing = _absent_name(question, words, vocab)
    if missing is not None:
        if tf is not None and not tf.found:
            return tf
        return TextFilter(text=missing.text, pattern=None, words=(missing.text,), found=False,
                          spans=(missing.span,))
    choice = index.choose(text, words)
    if choice is None and tf is None and words and counts \
            and not any(_HANGUL.search(w.text) or vocab.has(w.text) for w in words):
        # Nothing in the logs says any of it ("how many segfaults?"): no lines, not all.
        return TextFilter(text=words[0].text, pattern=None, words=(words[0].text,),
                          found=False, spans=(words[0].span,))
    if choice is None or (need_all and choice.overlap < 1.0 and not _says_more(choice, words, tf)) \
            or (need_sure and not choice.confident):
        return tf
    spans = tuple(w.span for w in words) or (tf.spans if tf is not None else ())
    return TextFilter(text=choice.phrase, pattern=None if choice.phrase else choice.pattern,
                      words=tuple(w.text for w in words), found=True, spans=spans,
                      templates=choice.shown, close_call=not choice.confident)


__all__ = [
    "TemplateChoice",
    "TemplateIndex",
    "content_text",
    "refine",
    "skeleton",
    "template_index",
    "template_pattern",
]
