"""What a push has sent so far, for a stop that must say what was and was not sent.

A push of several cases, or of one case split by ``--max-entries``, is several
transactions.  When it stops half-way (Ctrl-C, SIGTERM, a server that stopped answering),
the user must learn which transactions the server stored, which one was on its way (and
may or may not have been stored), and which were never sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# Names listed per group before "and N more": a cohort push has thousands of parts.
MAX_NAMED = 8


class State(Enum):
    NOT_SENT = "not sent"
    IN_FLIGHT = "in flight, stored or not"
    STORED = "stored"
    REJECTED = "rejected"


@dataclass
class _Part:
    source: str
    number: int
    total: int
    state: State = State.NOT_SENT


class Ledger:
    """The transactions of one push, each (source, part number, parts of that source)."""

    def __init__(self, parts: list[tuple[str, int, int]]) -> None:
        self._parts = [_Part(source, number, total) for source, number, total in parts]

    def mark(self, index: int, state: State) -> None:
        self._parts[index].state = state

    def split(self, index: int, count: int) -> None:
        """Part ``index`` goes as ``count`` smaller parts instead (the server refused its size)."""
        source = self._parts[index].source
        self._parts[index : index + 1] = [_Part(source, 0, 0) for _ in range(count)]
        siblings = [p for p in self._parts if p.source == source]
        for number, part in enumerate(siblings, start=1):
            part.number, part.total = number, len(siblings)

    def label(self, index: int) -> str:
        """``case2``, or ``case2 (part 1 of 3)``."""
        part = self._parts[index]
        return part.source if part.total == 1 else f"{part.source} (part {part.number} of {part.total})"

    def stored_any(self) -> bool:
        return any(p.state is State.STORED for p in self._parts)

    def summary(self) -> str:
        """``stored: case1; in flight, stored or not: case2 (part 1 of 2); not sent: case2 (part 2 of 2)``."""
        groups = []
        for state in (State.STORED, State.REJECTED, State.IN_FLIGHT, State.NOT_SENT):
            names = self._names(state)
            if len(names) > MAX_NAMED:
                names[MAX_NAMED:] = [f"and {len(names) - MAX_NAMED} more"]
            if names:
                groups.append(f"{state.value}: {', '.join(names)}")
        return "; ".join(groups) if groups else "nothing sent"

    def _names(self, state: State) -> list[str]:
        """Sources whose parts are all in ``state`` by name; otherwise their parts one by one."""
        names: list[str] = []
        by_source: dict[str, list[_Part]] = {}
        for part in self._parts:
            by_source.setdefault(part.source, []).append(part)
        for source, parts in by_source.items():
            chosen = [p for p in parts if p.state is state]
            if not chosen:
                continue
            if len(chosen) == len(parts):
                names.append(source if len(parts) == 1 else f"{source} (all {len(parts)} parts)")
            else:
                names.extend(f"{source} (part {p.number} of {p.total})" for p in chosen)
        return names
