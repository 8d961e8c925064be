"""Receipt codes: short, human and unambiguous, to read out over the phone or write on a note."""

import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""32 symbols without 0/O and 1/I, so a code survives being read aloud or handwritten."""
LENGTH = 8


def new_receipt_code() -> str:
    """A random code like `K7WX-3MPQ` (40 bits; uniqueness is enforced by the database)."""
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{symbols[:4]}-{symbols[4:]}"


def is_receipt_code(value: str) -> bool:
    """Whether `value` has the form of a receipt code."""
    plain = value.replace("-", "")
    return len(plain) == LENGTH and all(c in ALPHABET for c in plain)
