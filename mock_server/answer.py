"""The mock model: a deterministic answer for every (seed, request).

Tokens are words with their leading space, so joining the deltas gives the text and the
token count is the delta count; some words are multi-byte UTF-8, as real answers are. Identical
requests under one seed get identical answers.
"""

from __future__ import annotations

import hashlib
from operator import itemgetter

_WORDS = (
    "agent background response token stream resume poll cursor event sequence queue model "
    "answer request server client update state store journal delta network latency retry "
    "backoff deadline session message prompt output input status complete progress signal "
    "packet socket buffer frame window ocean stars river mountain forest light shadow echo "
    "quiet bright swift steady gentle ancient modern simple careful honest clear distant "
    "near through across under over beyond within between after before during while when "
    "the a an of to and in on with for from by as at is was are were be has have had will "
    "can may must should could would it this that these those each every some many few"
).split()


_MULTIBYTE = (
    "café naïve résumé Zürich fa\u00e7ade cafe\u0301 e\u0301te\u0301 東京 数据流 応答 🚀 ✨ 👩\u200d💻 🙂"
).split()
"""Accented Latin (2 bytes), combining marks, CJK (3 bytes) and emoji (4 bytes, one a ZWJ sequence): real
answers hold them, and write slicing then splits characters across reads."""
MULTIBYTE_EVERY = 8
"""Every 8th token (from the 4th on) is one of `_MULTIBYTE`, so every answer of 4 tokens or more holds one."""

_SPACED = [" " + word for word in _WORDS]
_SPACED_MULTIBYTE = [" " + word for word in _MULTIBYTE]
# No word holds a %: compiled scripts (timeline.py) use % for their slots and check only the request's text.
_WORD_OF_BYTE = tuple(_SPACED[byte % len(_SPACED)] for byte in range(256))
_MULTIBYTE_OF_BYTE = tuple(_SPACED_MULTIBYTE[byte % len(_SPACED_MULTIBYTE)] for byte in range(256))
"""The token a hash byte picks, looked up rather than computed: a new prompt's answer is 64 lookups."""
_DIGEST_BYTES = 64


def answer_tokens(seed: int, model: str, input_text: str, instructions: str | None, length: int) -> list[str]:
    """`length` tokens; the first has no leading space, the answer ends with a period.

    Word choices come straight from a keyed hash stream (one byte per token), which is
    deterministic across Python versions and much cheaper than seeding a `random.Random`.
    """
    key = f"{seed}\x00{model}\x00{instructions or ''}\x00{input_text}".encode()
    if length <= _DIGEST_BYTES:
        picked = hashlib.blake2b(key, digest_size=_DIGEST_BYTES, salt=bytes(16)).digest()[:length]
    else:
        picked = b"".join(
            hashlib.blake2b(key, digest_size=_DIGEST_BYTES, salt=block.to_bytes(16, "big")).digest()
            for block in range(-(-length // _DIGEST_BYTES))
        )[:length]
    # One C call for every word (itemgetter of one index gives the word alone, not in a tuple).
    tokens = list(itemgetter(*picked)(_WORD_OF_BYTE)) if length > 1 else [_WORD_OF_BYTE[picked[0]]]
    tokens[3::MULTIBYTE_EVERY] = map(_MULTIBYTE_OF_BYTE.__getitem__, picked[3::MULTIBYTE_EVERY])
    tokens[0] = tokens[0][1:].capitalize()
    tokens[-1] += "."
    return tokens


def count_tokens(text: str) -> int:
    """Usage accounting for input: whitespace-separated words, at least one."""
    return max(1, len(text.split()))


class IdFactory:
    """Deterministic OpenAI-shaped ids: the n-th id of a kind under a seed is always the same."""

    def __init__(self, seed: int, start: int = 0) -> None:
        self._seed = seed
        self._next = start
        self._hashes: dict[str, hashlib.blake2b] = {}
        """Per prefix, the hash of `seed:prefix:` so far; each id copies it and adds its number."""

    @property
    def position(self) -> int:
        """How many ids have been made: a restarted server starts from here."""
        return self._next

    def next(self, prefix: str) -> str:
        n = self._next
        self._next += 1
        started = self._hashes.get(prefix)
        if started is None:
            started = self._hashes[prefix] = hashlib.blake2b(f"{self._seed}:{prefix}:".encode(), digest_size=24)
        digest = started.copy()
        digest.update(b"%d" % n)
        return prefix + digest.hexdigest()


def derived_id(prefix: str, response_id: str, index: int) -> str:
    """The id of a response's `index`-th item of a kind (`fc_`, `call_`, `rs_`): a function of the response id,
    so a compiled script needs no more ids from the factory and a restarted server rebuilds them the same."""
    digest = hashlib.blake2b(f"{response_id}:{prefix}{index}".encode(), digest_size=24)
    return prefix + digest.hexdigest()
