"""Receipt codes: short, human and unambiguous, to read out over the phone or write on a note."""

import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""32 symbols without 0/O and 1/I, so a code survives being read aloud or handwritten."""
LENGTH = 8
PATTERN = r"^[A-HJ-NP-Za-hj-np-z2-9]{4}[- ]?[A-HJ-NP-Za-hj-np-z2-9]{4}$"
"""A receipt code as a person may type it: either case, with or without its dash (for the OpenAPI document)."""


def new_receipt_code() -> str:
    """A random code like `K7WX-3MPQ` (40 bits; uniqueness is enforced by the database)."""
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{symbols[:4]}-{symbols[4:]}"


def is_receipt_code(value: str) -> bool:
    """Whether `value` has the form of a receipt code."""
    plain = value.replace("-", "")
    return len(plain) == LENGTH and all(c in ALPHABET for c in plain)


def normalise_receipt_code(value: str) -> str | None:
    """`k7wx3mpq` or `K7WX 3MPQ` as stored (`K7WX-3MPQ`), or None when it is no receipt code."""
    plain = value.strip().upper().replace("-", "").replace(" ", "")
    if not is_receipt_code(plain):
        return None
    return f"{plain[:4]}-{plain[4:]}"
