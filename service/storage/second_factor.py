"""Staff members' second factor: the sealed TOTP secret, the last step used, recovery codes."""

from __future__ import annotations

from dataclasses import dataclass

from service.storage.db import Database, Writer


@dataclass(frozen=True)
class StoredFactor:
    staff_id: int
    sealed_secret: str
    confirmed: bool
    last_step: int


async def get(db: Database | Writer, staff_id: int) -> StoredFactor | None:
    row = await db.fetch_one(
        "SELECT staff_id, secret, confirmed_at, last_step FROM staff_second_factors"
        " WHERE staff_id = ?",
        (staff_id,),
    )
    if row is None:
        return None
    return StoredFactor(
        int(row["staff_id"]), row["secret"], row["confirmed_at"] is not None, int(row["last_step"])
    )


async def is_enrolled(db: Database | Writer, staff_id: int) -> bool:
    found = await get(db, staff_id)
    return found is not None and found.confirmed


async def begin(tx: Writer, staff_id: int, sealed_secret: str, *, at: str) -> None:
    """A new unconfirmed secret, replacing an earlier unconfirmed one (never a confirmed one)."""
    await tx.execute(
        "DELETE FROM staff_second_factors WHERE staff_id = ? AND confirmed_at IS NULL",
        (staff_id,),
    )
    await tx.execute(
        "INSERT INTO staff_second_factors (staff_id, secret, created_at) VALUES (?, ?, ?)",
        (staff_id, sealed_secret, at),
    )


async def confirm(tx: Writer, staff_id: int, *, at: str, step: int, code_hashes: list[str]) -> None:
    await tx.execute(
        "UPDATE staff_second_factors SET confirmed_at = ?, last_step = ? WHERE staff_id = ?",
        (at, step, staff_id),
    )
    await replace_recovery_codes(tx, staff_id, code_hashes)


async def use_step(tx: Writer, staff_id: int, step: int) -> bool:
    """Record `step` as used; False when it (or a later one) was used already: in the same
    transaction as the check, so two requests with one code cannot both pass."""
    changed = await tx.execute(
        "UPDATE staff_second_factors SET last_step = ? WHERE staff_id = ? AND last_step < ?",
        (step, staff_id, step),
    )
    return changed == 1


async def replace_recovery_codes(tx: Writer, staff_id: int, code_hashes: list[str]) -> None:
    await tx.execute("DELETE FROM staff_recovery_codes WHERE staff_id = ?", (staff_id,))
    for code_hash in code_hashes:
        await tx.execute(
            "INSERT INTO staff_recovery_codes (staff_id, code_hash) VALUES (?, ?)",
            (staff_id, code_hash),
        )


async def use_recovery_code(tx: Writer, staff_id: int, code_hash: str, *, at: str) -> str:
    """'used' when the code was unused and is now spent, 'spent' when it was used before,
    'unknown' when the member has no such code."""
    changed = await tx.execute(
        "UPDATE staff_recovery_codes SET used_at = ?"
        " WHERE staff_id = ? AND code_hash = ? AND used_at IS NULL",
        (at, staff_id, code_hash),
    )
    if changed == 1:
        return "used"
    exists = await tx.fetch_value(
        "SELECT count(*) FROM staff_recovery_codes WHERE staff_id = ? AND code_hash = ?",
        (staff_id, code_hash),
    )
    return "spent" if exists else "unknown"


async def unused_recovery_codes(db: Database | Writer, staff_id: int) -> int:
    value = await db.fetch_value(
        "SELECT count(*) FROM staff_recovery_codes WHERE staff_id = ? AND used_at IS NULL",
        (staff_id,),
    )
    return int(value or 0)


async def remove(tx: Writer, staff_id: int) -> bool:
    """Forget the member's second factor and recovery codes; True when there was one."""
    await tx.execute("DELETE FROM staff_recovery_codes WHERE staff_id = ?", (staff_id,))
    return await tx.execute("DELETE FROM staff_second_factors WHERE staff_id = ?", (staff_id,)) > 0


async def enrolled_ids(db: Database) -> set[int]:
    """Members with a confirmed second factor (the coordinators' staff page marks them)."""
    found = await db.fetch_all(
        "SELECT staff_id FROM staff_second_factors WHERE confirmed_at IS NOT NULL"
    )
    return {int(row["staff_id"]) for row in found}
