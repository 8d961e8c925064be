"""Triage of the reporter's Danish free text: hint codes of possible danger (the text never leaves intake).

The lexicon is data (services/intake/triage/lexicon.yaml, versioned: a version number and the file's sha).
Each phrase is a sequence of token patterns, stemmed with Snowball's Danish stemmer at load:

- `word`: the token's stem is the word's stem ("faldet", "falder", "faldt" all stem to "fald");
- `word*`, `*word`, `*word*`: the lower-cased token starts with, ends with, contains `word` (compounds:
  "selvmord*" is "selvmordstanker", "*lugt" is "gaslugt"); `=word`: the token is exactly `word`;
- `a|b`: any of them; `..N`: up to N other tokens between two patterns; `$`: the clause ends here.

A phrase matched within a few tokens after a negation cue ("ikke", "ingen", "aldrig", ...) in the same clause,
or with a cue right after it, does not count ("ikke selvmordstruet", "ingen tegn på vold"), unless the entry
says `negatable: false` (its own words are the negation: "åbner ikke døren"). A hint's exclusion phrases
("gaskomfuret er skiftet") void the phrases they overlap. Nothing here logs or raises with the text.
"""

import hashlib
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import compress
from operator import itemgetter, not_
from pathlib import Path

import Stemmer
import yaml

HINT_CODES: tuple[str, ...] = (
    "possible_suicide_risk",
    "possible_fall_or_helpless",
    "fire_or_gas",
    "violence_or_threats",
    "child_at_risk",
    "possible_hoarding",
    "possible_dementia",
    "possible_mental_health",
    "possible_substance_abuse",
    "possible_eviction",
)
"""Every hint code, in the order hints are reported."""

DANGER_HINTS: frozenset[str] = frozenset(
    {"possible_suicide_risk", "fire_or_gas", "possible_fall_or_helpless", "violence_or_threats"}
)
"""Hints that make a concern urgent (danger to life or health now)."""

LEXICON_FILE = Path(__file__).resolve().parents[1] / "triage" / "lexicon.yaml"
GUIDANCE_FILES = {"da": Path(__file__).resolve().parents[1] / "triage" / "guidance_da.yaml"}

# A full stop ends a sentence only before a capital or at the end: "3. tv." and "kl. 10" do not.
_LETTERS = "0-9a-zæøåäöüéèáàíóú"
# The same letters in either case, spelt out: what `(?i:[_LETTERS])` matches (the Turkish dotted and dotless i,
# the long s, the Kelvin and Ångström signs fold onto them), without case folding each character as it is read.
_CASED_LETTERS = "0-9a-zA-ZæøåäöüéèáàíóúÆØÅÄÖÜÉÈÁÀÍÓÚ\u0130\u0131\u017f\u212a\u212b"
# One pass over the text: words (with their hyphens and apostrophes: "gas-lugt", "ik'"), clause breaks, and
# sentence ends. A full stop ends a sentence only before a capital or at the end: "3. tv." and "kl. 10" do not.
_TOKENS = re.compile(rf"[{_CASED_LETTERS}]+(?:[-'’][{_CASED_LETTERS}]+)*|[,;:()]|[!?\n\r]+|\.+(?=\s+[A-ZÆØÅ\"]|\s*$)")
_BREAKS = frozenset({",", ";", ":", "(", ")"})
_CACHE_LIMIT = 50_000
_HOT, _END = 1, 2  # a token's mark: see Lexicon.read_many


@dataclass(frozen=True)
class _Atom:
    kind: str  # "stem", "prefix", "suffix", "contains", "exact"
    value: str


@dataclass(frozen=True)
class _Phrase:
    hint: str
    elements: tuple[frozenset[int], ...]
    gaps: tuple[int, ...]  # gaps[k]: most tokens allowed between element k-1 and k (gaps[0] unused)
    clause_end: bool
    negatable: bool
    exclusion: bool
    anywhere: bool  # every element somewhere in the sentence, in any order (a child and a danger)
    source: str
    anchor: int = 0  # the element looked up first: its shortest word is the longest (rarer than "er", "ikke")
    probe: frozenset[int] = frozenset()  # another element: a sentence without any of it cannot match


_Read = tuple[str, frozenset[int], tuple[_Phrase, ...], int]  # a token read: see Lexicon.read_many


@dataclass
class Lexicon:
    """A compiled lexicon: atoms indexed for one pass over the tokens, phrases indexed by their first atom."""

    version: str
    negation_cues: frozenset[str]
    negation_before: int
    negation_after: int
    clause_words: frozenset[str]
    scope_openers: frozenset[str]
    stems: dict[str, list[int]] = field(default_factory=dict)
    exact: dict[str, list[int]] = field(default_factory=dict)
    prefixes: dict[str, list[int]] = field(default_factory=dict)
    suffixes: dict[str, list[int]] = field(default_factory=dict)
    contains: list[tuple[str, int]] = field(default_factory=list)
    by_anchor: dict[int, list[_Phrase]] = field(default_factory=dict)
    anywhere: list[_Phrase] = field(default_factory=list)
    _atoms: dict[_Atom, int] = field(default_factory=dict)
    _token_cache: dict[str, "_Read"] = field(default_factory=dict)
    anywhere_triggers: frozenset[int] = frozenset()
    _index: "_AtomIndex | None" = None

    def atom(self, atom: _Atom) -> int:
        """The id of an atom, registered in its index on first use."""
        if atom in self._atoms:
            return self._atoms[atom]
        ident = len(self._atoms)
        self._atoms[atom] = ident
        if atom.kind == "contains":
            self.contains.append((atom.value, ident))
        else:
            index = {"stem": self.stems, "exact": self.exact, "prefix": self.prefixes, "suffix": self.suffixes}
            index[atom.kind].setdefault(atom.value, []).append(ident)
        return ident

    def read_many(self, raws: Iterable[str]) -> dict[str, "_Read"]:
        """Tokens as written, read: for each the word, every atom it matches, the phrases anchored at it, and its
        mark (_HOT: a phrase may start at it, or a phrase matched anywhere in the sentence may need it; _END: it
        ends a sentence; 0 otherwise). The words are stemmed in one call; only
        the lexicon's words and short words are cached (the answer itself lives as long as the caller keeps it)."""
        out: dict[str, _Read] = {}
        raw_words: list[str] = []
        for raw in raws:
            if raw in _BREAKS or raw[0] in ".!?\n\r":
                found = (raw, _CLAUSE_BREAK, (), 0) if raw in _BREAKS else (raw, _SENTENCE_END, (), _END)
                if len(raw) <= 3:  # punctuation keeps nothing of the text
                    self._token_cache[raw] = found
                out[raw] = found
            else:
                raw_words.append(raw)
        if not raw_words:
            return out
        tokens = [raw.lower().replace("-", "").replace("'", "").replace("’", "") for raw in raw_words]
        by_anchor, triggers = self.by_anchor, self.anywhere_triggers
        for raw, token, stem in zip(raw_words, tokens, _stemmer().stemWords(tokens), strict=True):
            atoms = self.atoms_of(token, stem)
            if atoms:
                starts = tuple({id(p): p for atom in atoms for p in by_anchor.get(atom, ())}.values())
                found = (token, atoms, starts, _HOT if starts or not atoms.isdisjoint(triggers) else 0)
            else:
                found = (token, atoms, (), 0)
            # Only words the lexicon knows, and short function words, are kept: not the names and other words of
            # a reporter's text (they are read again each time, which costs a few dictionary look-ups).
            if atoms or len(token) <= 3:
                if len(self._token_cache) >= _CACHE_LIMIT:
                    self._token_cache.clear()
                self._token_cache[raw] = found
            out[raw] = found
        return out

    def atoms_of(self, token: str, stem: str | None = None) -> frozenset[int]:
        """Every atom a token (of that stem, when the caller has stemmed it already) matches."""
        index = self._index
        if index is None:
            index = self._index = _AtomIndex.of(self)
        ids: list[int] = []
        ids += self.exact.get(token, ())
        ids += self.stems.get(_stemmer().stemWord(token) if stem is None else stem, ())
        if index.prefixes is not None:
            longest = index.prefixes.match(token)
            if longest is not None:  # the longest prefix the token has brings every shorter one with it
                ids += index.prefix_chains[longest.group()]
        if len(token) < 2:
            ids += index.short_prefixes.get(token, ())
        for suffix, suffix_ids in index.suffixes.get(token[-2:], ()):
            if token.endswith(suffix):
                ids += suffix_ids
        if index.contains is not None and index.contains.search(token) is not None:
            ids += [ident for value, ident in self.contains if value in token]
        return frozenset(ids) if ids else _NO_ATOMS


@dataclass(frozen=True)
class _AtomIndex:
    """The lexicon's prefixes, suffixes and infixes arranged so a word is checked against them in a few calls."""

    prefixes: re.Pattern[str] | None  # matches the longest prefix (of two letters or more) a word starts with
    prefix_chains: dict[str, list[int]]  # per such prefix: its atoms and those of every prefix it starts with
    short_prefixes: dict[str, list[int]]  # a one-letter prefix: only a one-letter word has it (as before)
    suffixes: dict[str, list[tuple[str, list[int]]]]  # by their last two letters
    contains: re.Pattern[str] | None  # finds whether any infix is in a word

    @classmethod
    def of(cls, lexicon: "Lexicon") -> "_AtomIndex":
        long = {prefix: ids for prefix, ids in lexicon.prefixes.items() if len(prefix) >= 2}
        chains = {
            prefix: [ident for other, ids in long.items() if prefix.startswith(other) for ident in ids]
            for prefix in long
        }
        infixes = sorted({value for value, _ident in lexicon.contains}, key=lambda v: (-len(v), v))
        return cls(
            prefixes=_trie_pattern(long) if long else None,
            prefix_chains=chains,
            short_prefixes={prefix: ids for prefix, ids in lexicon.prefixes.items() if len(prefix) < 2},
            suffixes=_buckets(lexicon.suffixes, lambda k: k[-2:]),
            contains=re.compile("|".join(map(re.escape, infixes))) if infixes else None,
        )


def _trie_pattern(words: Iterable[str]) -> re.Pattern[str]:
    """A pattern whose match at a word's start is the longest of the words the word starts with."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def branch(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + branch(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return re.compile(branch(trie))


def _buckets(index: dict[str, list[int]], key: Callable[[str], str]) -> dict[str, list[tuple[str, list[int]]]]:
    """Suffixes grouped by their last two letters, so a word is checked against few."""
    buckets: dict[str, list[tuple[str, list[int]]]] = {}
    for value, ids in index.items():
        buckets.setdefault(key(value), []).append((value, ids))
    return buckets


_STEMMERS = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    """This thread's stemmer (a PyStemmer stemmer must not be shared between threads), without a word cache:
    it would keep the words of reporters' texts."""
    stemmer = getattr(_STEMMERS, "danish", None)
    if stemmer is None:
        stemmer = _STEMMERS.danish = Stemmer.Stemmer("danish", 0)
    return stemmer


def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().replace("-", "").replace("'", "").replace("’", "")


def _compile_pattern(lexicon: Lexicon, pattern: str) -> tuple[tuple[frozenset[int], ...], tuple[int, ...], bool, int]:
    """The elements, gaps and clause end of a pattern, and the index of its anchor element."""
    elements: list[frozenset[int]] = []
    weights: list[int] = []
    gaps: list[int] = []
    gap = 0
    clause_end = False
    for part in pattern.split():
        if clause_end:
            raise ValueError(f"lexicon pattern {pattern!r}: '$' must come last")
        if part.startswith(".."):
            gap = int(part[2:])
            continue
        if part == "$":
            clause_end = True
            continue
        ids = set()
        for alternative in part.split("|"):
            alt = _normal(alternative)
            if not alt.strip("*="):
                raise ValueError(f"lexicon pattern {pattern!r}: empty alternative")
            if alt.startswith("="):
                ids.add(lexicon.atom(_Atom("exact", alt[1:])))
            elif alt.startswith("*") and alt.endswith("*"):
                ids.add(lexicon.atom(_Atom("contains", alt[1:-1])))
            elif alt.endswith("*"):
                ids.add(lexicon.atom(_Atom("prefix", alt[:-1])))
            elif alt.startswith("*"):
                ids.add(lexicon.atom(_Atom("suffix", alt[1:])))
            else:
                ids.add(lexicon.atom(_Atom("stem", _stem(alt))))
        elements.append(frozenset(ids))
        weights.append(min(len(a.strip("*=")) for a in part.split("|")))
        gaps.append(gap)
        gap = 0
    if not elements:
        raise ValueError(f"lexicon pattern {pattern!r}: no tokens")
    anchor = max(range(len(elements)), key=lambda k: (weights[k], -k))
    return tuple(elements), tuple(gaps), clause_end, anchor


def compile_lexicon(document: dict, version: str) -> Lexicon:
    """A lexicon from its parsed YAML document; ValueError naming the entry when one does not compile."""
    negation = document["negation"]
    lexicon = Lexicon(
        version=version,
        negation_cues=frozenset(_normal(w) for w in negation["cues"]),
        negation_before=int(negation["scope_before"]),
        negation_after=int(negation["scope_after"]),
        clause_words=frozenset(_normal(w) for w in negation["clause_words"]),
        scope_openers=frozenset(_normal(w) for w in negation["scope_continues_after_comma"]),
    )
    unknown = set(document["hints"]) - set(HINT_CODES)
    if unknown:
        raise ValueError(f"lexicon: unknown hint codes {sorted(unknown)}")
    for hint, entry in document["hints"].items():
        for kind in ("phrases", "exclusions"):
            for item in entry.get(kind) or []:
                if not str(item.get("note", "")).strip():
                    raise ValueError(f"lexicon {hint}: {item.get('match')!r} has no note")
                elements, gaps, clause_end, anchor = _compile_pattern(lexicon, item["match"])
                anywhere = bool(item.get("anywhere", False))
                negatable = bool(item.get("negatable", True))
                probe = elements[-1] if anchor != len(elements) - 1 else elements[0]
                phrase = _Phrase(
                    hint, elements, gaps, clause_end, negatable, kind == "exclusions", anywhere, item["match"],
                    anchor, probe,
                )  # fmt: skip
                if anywhere:
                    lexicon.anywhere.append(phrase)
                    lexicon.anywhere_triggers |= elements[0]
                    continue
                for atom in elements[anchor]:
                    lexicon.by_anchor.setdefault(atom, []).append(phrase)
    return lexicon


def load_lexicon(path: Path = LEXICON_FILE) -> Lexicon:
    """Read and compile a lexicon file; its version is "<version>+<first 12 hex of the file's sha256>"."""
    raw = path.read_bytes()
    document = yaml.safe_load(raw)
    version = f"{int(document['version'])}+{hashlib.sha256(raw).hexdigest()[:12]}"
    return compile_lexicon(document, version)


def _match_end(phrase: _Phrase, atoms: list[frozenset[int]], ends: "_Ends", start: int, k: int = 1) -> int:
    """The index of the last token of a match of the phrase from `start` (element k-1 at start), or -1.

    Gaps never cross a clause break (a comma, a semicolon); `$` wants the clause to end after the match.
    """
    if k == len(phrase.elements):
        return -1 if phrase.clause_end and not ends.at(start) else start
    wanted = phrase.elements[k]
    for position in range(start + 1, min(start + 2 + phrase.gaps[k], ends.stop)):
        if atoms[position] is _CLAUSE_BREAK:
            break
        if wanted & atoms[position]:
            end = _match_end(phrase, atoms, ends, position, k + 1)
            if end >= 0:
                return end
    return -1


def _match_start(phrase: _Phrase, atoms: list[frozenset[int]], end: int, k: int, begin: int) -> int:
    """The index of the first token of a match of elements 0..k-1 before element k (at `end`), or -1."""
    if k == 0:
        return end
    wanted = phrase.elements[k - 1]
    for position in range(end - 1, max(end - 2 - phrase.gaps[k], begin - 1), -1):
        if atoms[position] is _CLAUSE_BREAK:
            break
        if wanted & atoms[position]:
            start = _match_start(phrase, atoms, position, k - 1, begin)
            if start >= 0:
                return start
    return -1


_NO_ATOMS: frozenset[int] = frozenset()
_CLAUSE_BREAK: frozenset[int] = frozenset({-1})
_SENTENCE_END: frozenset[int] = frozenset({-2})


class _Ends:
    """Whether a clause ends after a token (asked only by phrases ending in `$`), in a sentence ending before
    token `stop` of the text."""

    __slots__ = ("clause_words", "stop", "tokens")

    def __init__(self, tokens: list[str], clause_words: frozenset[str], stop: int) -> None:
        self.tokens = tokens
        self.clause_words = clause_words
        self.stop = stop

    def at(self, i: int) -> bool:
        return i + 1 >= self.stop or self.tokens[i + 1] in _BREAKS or self.tokens[i + 1] in self.clause_words


def _negated(lexicon: Lexicon, tokens: list[str], start: int, end: int, begin: int, stop: int) -> bool:
    """Whether a negation cue governs the span: in it, a few tokens before it, or right after it, in its clause
    (the sentence is tokens[begin:stop])."""
    if any(tokens[position] in lexicon.negation_cues for position in range(start + 1, end)):
        return True
    seen = 0
    position = start - 1
    while position >= begin and seen < lexicon.negation_before:
        word = tokens[position]
        if word in _BREAKS:
            if word != "," or tokens[position + 1] not in lexicon.scope_openers:
                return _after(lexicon, tokens, end, stop)
        elif word in lexicon.clause_words:
            break
        elif word in lexicon.negation_cues:
            return True
        else:
            seen += 1
        position -= 1
    return _after(lexicon, tokens, end, stop)


def _after(lexicon: Lexicon, tokens: list[str], end: int, stop: int) -> bool:
    for position in range(end + 1, min(end + 1 + lexicon.negation_after, stop)):
        word = tokens[position]
        if word in _BREAKS or word in lexicon.clause_words:
            return False
        if word in lexicon.negation_cues:
            return True
    return False


def hints_in(lexicon: Lexicon, *texts: str | None) -> tuple[str, ...]:
    """The hint codes the texts give under a lexicon (in HINT_CODES order, no duplicates)."""
    found: set[str] = set()
    for text in texts:
        _matches(lexicon, text, found)
    return tuple(code for code in HINT_CODES if code in found)


def explain(lexicon: Lexicon, text: str | None) -> list[tuple[str, str]]:
    """For a developer measuring the lexicon: (hint, phrase) of every phrase that gave a hint in the text."""
    return sorted(set(_matches(lexicon, text)))


_WORD, _ATOMS, _MARK = itemgetter(0), itemgetter(1), itemgetter(3)


def _matches(lexicon: Lexicon, text: str | None, done: set[str] | None = None) -> list[tuple[str, str]]:
    """(hint, phrase) of every phrase that gives a hint in the text; with `done`, the hints found are added to
    it instead, and a hint in it is not looked for again (its phrases and exclusions are skipped)."""
    if not isinstance(text, str) or not text:
        return []
    raws = _TOKENS.findall(unicodedata.normalize("NFKC", text))
    # Each distinct token is read once per call (its words stemmed in one call); what is read of words the
    # lexicon does not know lives only in `fresh`, which goes when the call returns.
    infos: list[_Read | None] = list(map(lexicon._token_cache.get, raws))  # None: not cached yet
    if None in infos:
        unread = list(compress(range(len(raws)), map(not_, infos)))
        fresh = lexicon.read_many({raws[position] for position in unread})
        for position in unread:
            infos[position] = fresh[raws[position]]
    marks = list(map(_MARK, infos))
    # Only sentences with a word a phrase may start at (or an `anywhere` phrase's first word) are matched.
    if _HOT not in marks:
        return []
    tokens = list(map(_WORD, infos))
    atoms = list(map(_ATOMS, infos))
    found: list[tuple[str, str]] = []
    begin, live = 0, False
    starts: list[tuple[int, tuple[_Phrase, ...]]] = []  # only the words a phrase may start at
    for position in compress(range(len(raws)), marks):
        if marks[position] == _END:
            if live:
                found += _sentence_matches(lexicon, tokens, atoms, starts, begin, position, done)
            begin, live, starts = position + 1, False, []
            continue
        live = True
        if infos[position][2]:
            starts.append((position, infos[position][2]))
    if live:
        found += _sentence_matches(lexicon, tokens, atoms, starts, begin, len(raws), done)
    return found


def _sentence_matches(
    lexicon: Lexicon,
    tokens: list[str],
    atoms: list[frozenset[int]],
    starts: list[tuple[int, tuple[_Phrase, ...]]],
    begin: int,
    stop: int,
    done: set[str] | None,
) -> list[tuple[str, str]]:
    """The (hint, phrase) the sentence tokens[begin:stop] gives (with `done`: see _matches)."""
    present = frozenset().union(*atoms[begin:stop])  # a clause break adds only -1, which no phrase has
    # A phrase is tried only when another word it needs (its probe) is in the sentence too, and (with `done`)
    # when its hint has not been found already.
    if done is None:
        todo = [
            (at, phrase) for at, candidates in starts for phrase in candidates if not present.isdisjoint(phrase.probe)
        ]
        anywhere = lexicon.anywhere
    else:
        todo = [
            (at, phrase)
            for at, candidates in starts
            for phrase in candidates
            if phrase.hint not in done and not present.isdisjoint(phrase.probe)
        ]
        anywhere = [phrase for phrase in lexicon.anywhere if phrase.hint not in done]
    if not todo and not (anywhere and not present.isdisjoint(lexicon.anywhere_triggers)):
        return []
    last = stop - 1
    ends = _Ends(tokens, lexicon.clause_words, stop)
    matched: list[tuple[_Phrase, int, int, bool]] = []  # and whether a negation cue may void it
    exclusions: list[tuple[str, int, int]] = []
    for at, phrase in todo:
        end = _match_end(phrase, atoms, ends, at, phrase.anchor + 1)
        if end < 0:
            continue
        start = _match_start(phrase, atoms, at, phrase.anchor, begin)
        if start < 0:
            continue
        if phrase.exclusion:
            exclusions.append((phrase.hint, start, end))
        else:
            matched.append((phrase, start, end, phrase.negatable))
    if anywhere and not present.isdisjoint(lexicon.anywhere_triggers):
        for phrase in anywhere:
            if all(element & present for element in phrase.elements):
                if phrase.exclusion:
                    exclusions.append((phrase.hint, begin, last))
                else:
                    matched.append((phrase, begin, last, False))
    # The negation is looked for last, and only for what no exclusion voids (and, with `done`, once per hint).
    given: list[tuple[str, str]] = []
    for phrase, start, end, negatable in matched:
        if done is not None and phrase.hint in done:
            continue
        if exclusions and any(h == phrase.hint and s <= end and start <= e for h, s, e in exclusions):
            continue
        if negatable and _negated(lexicon, tokens, start, end, begin, stop):
            continue
        if done is not None:
            done.add(phrase.hint)
        given.append((phrase.hint, phrase.source))
    return given


_LEXICON = load_lexicon()


def read_hints(*texts: str | None) -> tuple[str, ...]:
    """The hint codes the texts give (in HINT_CODES order, no duplicates); None and empty texts give none."""
    return hints_in(_LEXICON, *texts)


def lexicon_version() -> str:
    """The version of the lexicon in use ("<version>+<sha>")."""
    return _LEXICON.version


def load_hint_guidance(path: Path) -> dict[str, dict[str, str | bool]]:
    """The reporter's texts per hint from a guidance file; ValueError naming the hint when one is missing or odd."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    texts: dict[str, dict[str, str | bool]] = {}
    for code in HINT_CODES:
        entry = document["hints"].get(code)
        if entry is None:
            raise ValueError(f"{path.name}: no guidance for {code}")
        title, text, call_112 = entry.get("title"), entry.get("text"), entry.get("call_112")
        if not (isinstance(title, str) and title.strip() and isinstance(text, str) and text.strip()):
            raise ValueError(f"{path.name}: {code} needs a title and a text")
        if not isinstance(call_112, bool):
            raise ValueError(f"{path.name}: {code} needs call_112: true or false")
        texts[code] = {"code": code, "title": title.strip(), "text": " ".join(text.split()), "call_112": call_112}
    unknown = set(document["hints"]) - set(HINT_CODES)
    if unknown:
        raise ValueError(f"{path.name}: unknown hint codes {sorted(unknown)}")
    return texts


_GUIDANCE = {lang: load_hint_guidance(path) for lang, path in GUIDANCE_FILES.items()}


def hint_guidance(codes: Iterable[str], lang: str = "da") -> list[dict[str, str | bool]]:
    """What the reporter reads about each hint, in the order given: code, title, text, and whether to call 112.

    Unknown codes are skipped; a language without texts falls back to Danish (the only one today).
    """
    texts = _GUIDANCE.get(lang, _GUIDANCE["da"])
    return [dict(texts[code]) for code in codes if code in texts]
