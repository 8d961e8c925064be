"""The Danish text of every refusal the four services answer with (title, detail, a field's problem).

Keys are the English texts as they are raised; `{name}` stands for a part that varies (a code, a number, a
field), which the Danish text keeps as it is. tests/unit/test_i18n.py walks the services' source so that no
refusal lacks its Danish text here.
"""

DANISH: dict[str, str] = {
    # Titles: the HTTP status phrases (RFC 9110) and the services' own.
    "Bad Request": "Ugyldig forespørgsel",
    "Unauthorized": "Ikke logget ind",
    "Forbidden": "Ingen adgang",
    "Not Found": "Findes ikke",
    "Method Not Allowed": "Metoden er ikke tilladt",
    "Not Acceptable": "Kan ikke levere det ønskede format",
    "Conflict": "Konflikt",
    "Gone": "Findes ikke længere",
    "Precondition Failed": "Forudsætningen holder ikke",
    "Request Entity Too Large": "For stor forespørgsel",
    "Content Too Large": "For stor forespørgsel",
    "Unsupported Media Type": "Ikke understøttet indholdstype",
    "Unprocessable Entity": "Ugyldig forespørgsel",
    "Unprocessable Content": "Ugyldig forespørgsel",
    "Precondition Required": "Forudsætning mangler",
    "Too Many Requests": "For mange forespørgsler",
    "Internal Server Error": "Intern fejl",
    "Service Unavailable": "Tjenesten er ikke tilgængelig",
    "Gateway Timeout": "Svaret kom ikke i tide",
    "Error": "Fejl",
    "Invalid request": "Ugyldig forespørgsel",
    "Internal error": "Intern fejl",
    "Invalid rules document": "Ugyldigt regeldokument",
    # Shared edge (shared/web).
    "The request could not be completed.": "Forespørgslen kunne ikke gennemføres.",
    "not valid UTF-8 JSON": "ikke gyldig UTF-8-JSON",
    "Not Found.": "Findes ikke.",
    "Not found.": "Findes ikke.",
    "Method Not Allowed.": "Metoden er ikke tilladt.",
    "API clients are still loading; try again shortly.": "API-klienterne indlæses stadig; prøv igen om lidt.",
    "Missing bearer token.": "Bearer-token mangler.",
    "Invalid, revoked or expired token.": "Ugyldigt, tilbagekaldt eller udløbet token.",
    # A person's access token (shared/auth/oidc.py, shared/auth/people.py).
    "Token expired.": "Token er udløbet.",
    "Not an access token.": "Ikke et adgangstoken.",
    "Token is not a JWT.": "Token er ikke et JWT.",
    "Token names no key (kid).": "Token angiver ingen nøgle (kid).",
    "Token signed with an unknown key.": "Token er underskrevet med en ukendt nøgle.",
    "Token algorithm {alg} is not accepted (RS256 or ES256 only).": (
        "Token-algoritmen {alg} accepteres ikke (kun RS256 eller ES256)."
    ),
    "Token algorithm {alg} does not fit its key.": "Token-algoritmen {alg} passer ikke til nøglen.",
    "Token lacks the claims {claims}.": "Token mangler oplysningerne {claims}.",
    "Token claim {claim} not valid (wrong issuer, audience or time).": (
        "Token-oplysningen {claim} er ugyldig (forkert udsteder, modtager eller tid)."
    ),
    "Token not valid ({reason}).": "Token er ugyldigt ({reason}).",
    "The identity provider's keys cannot be fetched; try again shortly.": (
        "Login-tjenestens nøgler kan ikke hentes; prøv igen om lidt."
    ),
    "The token names no person (no preferred_username or sub).": (
        "Token angiver ingen person (hverken preferred_username eller sub)."
    ),
    "The token carries no platform role (crp_role).": "Token har ingen rolle på platformen (crp_role).",
    "A municipality's token must carry its municipality code (municipality).": (
        "En kommunes token skal angive kommunekoden (municipality)."
    ),
    "A reporter's token must carry an organisation (organisation).": (
        "En indberetters token skal angive en organisation (organisation)."
    ),
    "A consultant's token must carry departments (departments).": (
        "En konsulents token skal angive afdelinger (departments)."
    ),
    "Webhook subscriptions belong to API clients; a person's token cannot own one.": (
        "Webhook-abonnementer hører til API-klienter; en persons token kan ikke eje et."
    ),
    "Role {role} may not do this.": "Rollen {role} må ikke gøre dette.",
    "Rate limit exceeded for this client; try again in {seconds} s.": (
        "Grænsen for antal forespørgsler er nået for denne klient; prøv igen om {seconds} s."
    ),
    "Too many failed authentications from this address; try again in {seconds} s.": (
        "For mange mislykkede login-forsøg fra denne adresse; prøv igen om {seconds} s."
    ),
    "Too many failed authentications with this client's token; try again in {seconds} s.": (
        "For mange mislykkede login-forsøg med denne klients token; prøv igen om {seconds} s."
    ),
    # intake
    "Reference data is still loading; try again shortly.": "Stamdata indlæses stadig; prøv igen om lidt.",
    "The database is unavailable; try again shortly.": "Databasen er ikke tilgængelig; prøv igen om lidt.",
    # intake's API clients (/v1/clients).
    "The change did not reach the broker; try again shortly.": "Ændringen nåede ikke frem; prøv igen om lidt.",
    "a municipality client needs its municipality code (4 digits)": "en kommuneklient skal have kommunekoden (4 cifre)",
    "a reporter client needs its organisation": "en indberetterklient skal have sin boligorganisation",
    "a client of role {role} needs at least one department": "en klient med rollen {role} skal have mindst én afdeling",
    "The request body exceeds the limit of {limit} bytes.": (
        "Forespørgslens indhold er større end grænsen på {limit} bytes."
    ),
    "no such department in your scope": "ingen sådan afdeling inden for dit område",
    "must not be in the future": "må ikke ligge i fremtiden",
    "must not be blank": "må ikke være tom",
    "must not hold control characters": "må ikke indeholde kontroltegn",
    "must not hold control characters other than tab and line breaks": (
        "må ikke indeholde andre kontroltegn end tabulator og linjeskift"
    ),
    "each category at most once": "hver kategori højst én gang",
    "give at least one detail, or leave resident out": "angiv mindst én oplysning, eller udelad resident",
    "already used for a different request": "er allerede brugt til en anden forespørgsel",
    "already used for a different concern": "er allerede brugt til en anden bekymring",
    "give external_ref_system and external_ref_id together": "angiv external_ref_system og external_ref_id sammen",
    "required with the other external_ref parameter": "kræves sammen med den anden external_ref-parameter",
    "Too many failed receipt-code look-ups; try again in {seconds} s.": (
        "For mange mislykkede opslag på kvitteringskode; prøv igen om {seconds} s."
    ),
    "items must be unique": "elementerne skal være forskellige",
    "the instant is outside the representable range": "tidspunktet ligger uden for det mulige interval",
    # intake's consent route (POST /v1/concerns/{id}/consent).
    "the concern is erased: there are no personal details left to disclose": (
        "bekymringen er slettet: der er ingen personoplysninger at videregive"
    ),
    "the resident's consent is already registered as given": "beboerens samtykke er allerede registreret",
    "the resident's refusal of consent is already registered": "beboerens nej til samtykke er allerede registreret",
    "consent was given in the report; withdrawing it is not a registration": (
        "samtykket blev givet i indberetningen; en tilbagetrækning kan ikke registreres her"
    ),
    "the concern was erased or its consent registered meanwhile": (
        "bekymringen blev slettet, eller samtykket blev registreret imens"
    ),
    # routing
    "the referral is {status}; a closed referral cannot move": (
        "henvisningen er {status}; en afsluttet henvisning kan ikke flyttes"
    ),
    "cannot move from {current} to {to}; allowed: {allowed}": (
        "kan ikke flyttes fra {current} til {to}; tilladt: {allowed}"
    ),
    "a rejection needs a reason: one of {reasons}": "en afvisning kræver en begrundelse: en af {reasons}",
    "a reason is given with a rejection, and only then": "en begrundelse gives ved en afvisning, og kun da",
    "an outcome is required to complete a referral, and only then": (
        "et udfald kræves for at afslutte en henvisning, og kun da"
    ),
    "only the referral's recipient or an admin may move it": (
        "kun henvisningens modtager eller en administrator må flytte den"
    ),
    "this referral is the last resort of its fallback chain and cannot be rejected; "
    "complete it with an outcome (e.g. no_action_needed)": (
        "henvisningen er den sidste mulighed i sin kæde og kan ikke afvises; "
        "afslut den med et udfald (fx no_action_needed)"
    ),
    "this is the concern's last open referral and none is completed: it cannot be {to}; "
    "complete it with an outcome (e.g. no_action_needed or could_not_contact) instead": (
        "det er bekymringens sidste åbne henvisning, og ingen er afsluttet: den kan ikke sættes til {to}; "
        "afslut den i stedet med et udfald (fx no_action_needed eller could_not_contact)"
    ),
    "only a consultant of the concern's department or an admin may decide a suggestion": (
        "kun en konsulent i bekymringens afdeling eller en administrator må afgøre et forslag"
    ),
    "this suggestion was decided already ({status}); each suggestion is decided once": (
        "forslaget er allerede afgjort ({status}); et forslag afgøres kun én gang"
    ),
    "the concern has no referral to take its facts from": "bekymringen har ingen henvisning at tage oplysningerne fra",
    "Send the rules document as application/json or application/yaml.": (
        "Send regeldokumentet som application/json eller application/yaml."
    ),
    "No rules stored yet.": "Der er endnu ikke gemt nogen regler.",
    "give the concern as reported to intake (or, deprecated, its facts), once": (
        "angiv bekymringen som indberettet til intake (eller, forældet, dens fakta), én gang"
    ),
    "give a stored version or a draft document, not both": "angiv en gemt version eller et udkast, ikke begge",
    "differs from facts.municipality_code": "afviger fra facts.municipality_code",
    "unknown department": "ukendt afdeling",
    "the department lies in municipality {actual}, not {given}": "afdelingen ligger i kommune {actual}, ikke {given}",
    "this version no longer validates; simulate a draft instead": (
        "denne version er ikke længere gyldig; simulér i stedet med et udkast"
    ),
    "the rules name no recipient for this concern: {reason}": (
        "reglerne angiver ingen modtager for denne bekymring: {reason}"
    ),
    "No such version.": "Den version findes ikke.",
    "no such version": "den version findes ikke",
    "The rules changed since you read them; read them again.": "Reglerne er ændret, siden du læste dem; læs dem igen.",
    "The rules name no recipient for this concern: {reason}.": (
        "Reglerne angiver ingen modtager for denne bekymring: {reason}."
    ),
    "not valid {content_type}": "ikke gyldig {content_type}",
    "rule ids must be unique: {ids}": "reglernes id'er skal være forskellige: {ids}",
    "department {department} is covered by {first} and {second}": (
        "afdelingen {department} dækkes af både {first} og {second}"
    ),
    "association {association} serves departments no consultant covers: {departments}": (
        "foreningen {association} betjener afdelinger, som ingen konsulent dækker: {departments}"
    ),
    "recipient ids must be unique: {ids}": "modtagernes id'er skal være forskellige: {ids}",
    "fallback needs a chain for: {targets}": "fallback mangler en kæde for: {targets}",
    "a rule needs at least one condition": "en regel skal have mindst én betingelse",
    "suggested_function is for municipality referrals only": "suggested_function gælder kun henvisninger til kommunen",
    "statutory_duty applies to municipality referrals only": "statutory_duty gælder kun henvisninger til kommunen",
    "otherwise must name another target": "otherwise skal angive en anden modtager",
    "underretning applies to municipality referrals only": "underretning gælder kun henvisninger til kommunen",
    "vital_interest_when_confirmed applies to municipality referrals only": (
        "vital_interest_when_confirmed gælder kun henvisninger til kommunen"
    ),
    # notify
    "must be at most {limit} characters": "må højst være {limit} tegn",
    "is not a valid URL": "er ikke en gyldig URL",
    "must use https": "skal bruge https",
    "must name a host": "skal angive en vært",
    "must not carry credentials; the signature authenticates us": (
        "må ikke indeholde loginoplysninger; signaturen viser, at det er os"
    ),
    "must not have a fragment": "må ikke have et fragment (#)",
    "host does not resolve": "værten kan ikke slås op",
    "resolves to a {kind} address, which is not allowed": "peger på en {kind}-adresse, hvilket ikke er tilladt",
    "not a cursor of this list": "ikke en markør for denne liste",
    "The delivery is still pending; it is retried on its own.": (
        "Leverancen venter stadig; den forsøges igen af sig selv."
    ),
    "Its subscription was deleted.": "Dens abonnement er slettet.",
    "Its subscription is disabled; enable it first (POST /v1/subscriptions/{id}/enable).": (
        "Dens abonnement er slået fra; slå det til først (POST /v1/subscriptions/{id}/enable)."
    ),
    # stats
    "must not be after `to`": "må ikke ligge efter `to`",
    "the period may cover at most {days} days": "perioden må højst dække {days} dage",
    "must lie between {earliest} and {latest}": "skal ligge mellem {earliest} og {latest}",
    "outside the caller's scope": "uden for dit område",
    "The statistics database is not reachable; try again shortly.": (
        "Statistikkens database kan ikke nås; prøv igen om lidt."
    ),
}

# Pydantic's error types as a field's problem in Danish; `{name}` is the error's context.
PYDANTIC_DA: dict[str, str] = {
    "missing": "skal udfyldes",
    "extra_forbidden": "er ikke et kendt felt",
    "string_type": "skal være en tekst",
    "string_too_short": "skal have mindst {min_length} tegn",
    "string_too_long": "må højst have {max_length} tegn",
    "string_pattern_mismatch": "har ikke den krævede form",
    "string_unicode": "skal være gyldig Unicode-tekst",
    "enum": "skal være en af {expected}",
    "literal_error": "skal være en af {expected}",
    "int_type": "skal være et heltal",
    "int_parsing": "skal være et heltal",
    "int_from_float": "skal være et heltal",
    "float_type": "skal være et tal",
    "float_parsing": "skal være et tal",
    "finite_number": "skal være et endeligt tal",
    "bool_type": "skal være true eller false",
    "bool_parsing": "skal være true eller false",
    "greater_than": "skal være større end {gt}",
    "greater_than_equal": "skal være mindst {ge}",
    "less_than": "skal være mindre end {lt}",
    "less_than_equal": "må højst være {le}",
    "too_short": "skal have mindst {min_length} elementer",
    "too_long": "må højst have {max_length} elementer",
    "list_type": "skal være en liste",
    "set_type": "skal være en liste",
    "tuple_type": "skal være en liste",
    "dict_type": "skal være et objekt",
    "model_type": "skal være et objekt",
    "model_attributes_type": "skal være et objekt",
    "dataclass_type": "skal være et objekt",
    "uuid_type": "skal være et UUID",
    "uuid_parsing": "skal være et UUID",
    "datetime_type": "skal være et tidspunkt (ISO 8601)",
    "datetime_parsing": "skal være et tidspunkt (ISO 8601)",
    "datetime_from_date_parsing": "skal være et tidspunkt (ISO 8601)",
    "datetime_object_invalid": "skal være et gyldigt tidspunkt",
    "timezone_aware": "skal have en tidszone",
    "date_type": "skal være en dato (ÅÅÅÅ-MM-DD)",
    "date_parsing": "skal være en dato (ÅÅÅÅ-MM-DD)",
    "date_from_datetime_parsing": "skal være en dato (ÅÅÅÅ-MM-DD)",
    "date_from_datetime_inexact": "skal være en dato uden klokkeslæt",
    "json_invalid": "er ikke gyldig JSON",
    "json_type": "skal være JSON",
    "url_type": "skal være en gyldig URL",
    "url_parsing": "skal være en gyldig URL",
    "url_syntax_violation": "skal være en gyldig URL",
    "url_too_long": "er en for lang URL",
    "url_scheme": "skal bruge et af skemaerne {expected_schemes}",
    "union_tag_invalid": "har en ukendt type",
    "union_tag_not_found": "mangler sin type",
    "frozen_instance": "kan ikke ændres",
    "is_instance_of": "har ikke den rette type",
    "none_required": "skal være null",
    "decimal_parsing": "skal være et tal",
    "decimal_type": "skal være et tal",
    "bytes_type": "skal være bytes",
    "time_type": "skal være et klokkeslæt",
    "time_parsing": "skal være et klokkeslæt",
}
