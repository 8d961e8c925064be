"""What a reporter reads about their concern, in Danish: statuses, who has it, what happened."""

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

CONCERN_STATUS = {
    "received": "Modtaget – ikke sendt videre endnu",
    "referred": "Sendt videre",
    "erased": "Slettet",
}
REFERRAL_STATUS = {
    "requested": "Sendt – venter på svar",
    "received": "Modtaget",
    "accepted": "Taget op",
    "in_progress": "I gang",
    "on_hold": "Sat i bero",
    "completed": "Afsluttet",
    "rejected": "Afvist – sendt videre, hvis nogen andre kan hjælpe",
    "cancelled": "Annulleret",
    "failed": "Kunne ikke leveres – bliver fulgt op",
}
TARGETS = {
    "municipality": "Kommunen (én indgang)",
    "consultant": "Den boligsociale konsulent",
    "association": "En frivillig forening",
}
EVENTS = {
    "reported": "Bekymringen blev modtaget",
    "referred": "Sendt videre",
    "status_changed": "Status ændret",
    "erased": "Personoplysningerne blev slettet",
}


def normalise_receipt_code(value: str) -> str | None:
    """`k7wx3mpq` or `K7WX 3MPQ` as intake stores it (`K7WX-3MPQ`), or None when it is no receipt code."""
    plain = value.strip().upper().replace("-", "").replace(" ", "")
    if len(plain) != 8 or any(c not in ALPHABET for c in plain):
        return None
    return f"{plain[:4]}-{plain[4:]}"
