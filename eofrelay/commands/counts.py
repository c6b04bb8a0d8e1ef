# -*- test-case-name: tests.test_counts,tests.test_interpreter -*-
"""
How many replies of each result each verb got, for the metrics.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping


class CommandCounts(Mapping[tuple[str, str], int]):
    """
    Replies by verb and result: a read-only mapping of C{(verb, result)}
    (C{("on", "ok")}, C{("pulse", "bad argument")}) to how many there were,
    holding only those that happened.

    The successes of a verb are counted in a cell of their own
    (L{successes}): the commonest command, C{on} or C{off} of one relay,
    keeps its verb's cell and counts with one list item addition.  Counted
    in a dictionary by C{(verb, result)}, as everything else is, a count
    costs a tenth of that command (the tuple is hashed twice).
    """

    def __init__(self) -> None:
        self._successes: dict[str, list[int]] = {}
        self._others: defaultdict[tuple[str, str], int] = defaultdict(int)

    def successes(self, verb: str) -> list[int]:
        """
        The cell that counts the successes of C{verb}: add to its item 0.
        """
        cell = self._successes.get(verb)
        if cell is None:
            cell = self._successes[verb] = [0]
        return cell

    def count(self, verb: str, result: str) -> None:
        """
        Count one reply of C{verb} with C{result}.
        """
        if result == "ok":
            self.successes(verb)[0] += 1
        else:
            self._others[verb, result] += 1

    def __getitem__(self, key: tuple[str, str]) -> int:
        try:
            verb, result = key
        except (TypeError, ValueError):
            raise KeyError(key) from None
        if result == "ok":
            cell = self._successes.get(verb)
            if cell is not None and cell[0]:
                return cell[0]
        elif key in self._others:
            return self._others[key]
        raise KeyError(key)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for verb, (count,) in list(self._successes.items()):
            if count:
                yield (verb, "ok")
        yield from list(self._others)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"CommandCounts({dict(self)!r})"
