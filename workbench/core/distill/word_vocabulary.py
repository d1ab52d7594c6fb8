"""Which tokens of a vocabulary are whole words, and how a word splits into tokens, for every tokenizer kind.

Augmentation replaces words by words. A WordPiece vocabulary marks word continuations ("##ing"), while
byte-level BPE (RoBERTa, ModernBERT) and SentencePiece (XLM-R, CamemBERT, DeBERTa-v3) mark word starts
instead ("Ġgood", "▁good"): testing tokens with `isalpha` keeps every WordPiece word and no BPE or
SentencePiece one. Here a token is a whole word when it starts a word and the rest of it is letters; the
word is the token without its marker.
"""

from __future__ import annotations

import json
from typing import Any

import torch

BYTE_LEVEL_SPACE = "Ġ"  # GPT-2's byte-to-unicode map writes a space as this letter
METASPACE = "▁"


def _pre_tokenizer_types(spec: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    if not spec:
        return []
    if spec["type"] == "Sequence":
        return [item for inner in spec["pretokenizers"] for item in _pre_tokenizer_types(inner)]
    return [(spec["type"], spec)]


# NLTK's English stopword list, as data: NLTK and scikit-learn (which ship such lists) stay out of the packaged
# app. Kept words, not replaced: for sentiment that also keeps negations ("not", "no", "nor") as they are.
STOPWORDS = frozenset("""
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself
it its itself they them their theirs themselves what which who whom this that these those am is are was were be
been being have has had having do does did doing a an the and but if or because as until while of at by for with
about against between into through during before after above below to from up down in out on off over under
again further then once here there when where why how all any both each few more most other some such no nor
not only own same so than too very s t can will just don should now d ll m o re ve y ain aren couldn didn doesn
hadn hasn haven isn ma mightn mustn needn shan shouldn wasn weren won wouldn
""".split())



class WordVocabulary:
    """`allowed[i]`: token i is a whole word that may replace another (no special token, no stopword);
    `word(i)` is that word; `pieces(word)` are the ids the word gets inside a sentence."""

    def __init__(self, tokenizer: Any, size: int) -> None:
        self.tokenizer = tokenizer
        backend = json.loads(tokenizer.backend_tokenizer.to_str()) if hasattr(tokenizer, "backend_tokenizer") else {}
        kinds = dict(_pre_tokenizer_types(backend.get("pre_tokenizer")))
        self.marker, self.space_before = "", False
        if "ByteLevel" in kinds:
            self.marker, self.space_before = BYTE_LEVEL_SPACE, True
        elif "Metaspace" in kinds:
            self.marker = kinds["Metaspace"].get("replacement", METASPACE)
        self.continuation = (backend.get("model") or {}).get("continuing_subword_prefix") or "##"
        special = set(tokenizer.all_special_ids)
        tokens = tokenizer.convert_ids_to_tokens(list(range(min(size, len(tokenizer)))))
        self.words = [None if i in special else self._word_of(token) for i, token in enumerate(tokens)]
        allowed = [w is not None and w.lower() not in STOPWORDS for w in self.words]
        self.allowed = torch.tensor(allowed + [False] * (size - len(allowed)))

    def _word_of(self, token: str) -> str | None:
        if self.marker:
            word = token[len(self.marker):] if token.startswith(self.marker) else ""
        else:
            word = "" if token.startswith(self.continuation) else token
        return word if word.isalpha() else None

    def word(self, token_id: int) -> str:
        return self.words[token_id] or ""

    def pieces(self, word: str) -> list[int]:
        """The word's ids as they are inside a sentence (byte-level BPE: with the space before it)."""
        return self.tokenizer.encode((" " if self.space_before else "") + word, add_special_tokens=False)

    def replaceable(self, word: str) -> bool:
        """Words are replaced, stopwords and punctuation kept."""
        return word.isalpha() and word.lower() not in STOPWORDS
