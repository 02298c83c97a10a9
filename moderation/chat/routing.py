"""Who gets the next waiting chat: the role that fits the topic first, then the least loaded."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    staff_id: int
    role: str
    load: int
    capacity: int
    # When they were last given a chat (ISO text, "" for never): ties go to whoever waited longest.
    last_assigned_at: str = ""

    @property
    def free(self) -> int:
        return self.capacity - self.load


def choose(
    candidates: list[Candidate], *, topic_role: str | None, wanted_role: str | None
) -> Candidate | None:
    """Pick the staff member for one chat, or None if no one fits.

    `wanted_role` (set by a transfer to a role) is a requirement; `topic_role` (from the
    category) is a preference that yields to whoever else has room."""
    fitting = [c for c in candidates if c.free > 0]
    if wanted_role is not None:
        fitting = [c for c in fitting if c.role == wanted_role]
    if not fitting:
        return None
    return min(
        fitting,
        key=lambda c: (c.role != topic_role, c.load / max(c.capacity, 1), c.last_assigned_at),
    )
