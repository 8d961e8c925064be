"""Keycloak, the local stack's identity provider: where people log in (the portal) and get their access tokens.

The distribution (`org.keycloak:keycloak-quarkus-dist`, pinned with its SHA-256) is fetched from Maven Central
into the user cache and unpacked once per stack home, so each stack's Keycloak has its own build and its own
dev-file storage under `<home>/keycloak` (kept across restarts). It runs in dev mode on base port + 80 and
imports the realm `bekymring` rendered here from the stack's secrets: the confidential client `portal`
(standard flow, PKCE S256 required, exact redirect URIs) and one demo person per role. The import is skipped
once the realm exists (Keycloak's IGNORE_EXISTING): delete `<home>/keycloak` to start over.

Production points the same settings (OIDC_ISSUER, OIDC_AUDIENCE, the portal's client) at the organisation's own
provider; docs/operations.md, "Identity provider", lists the claims it has to put into the access token.
"""

import hashlib
import json
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from tenacity import retry, retry_if_not_exception_type, stop_after_attempt, wait_exponential

from deploy import services, supervisor
from deploy.config import StackConfig, StackError, cache_dir, write_private
from deploy.java import major_version
from deploy.supervisor_conf import Program

VERSION = "26.5.6"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
DIST_URL = f"{MAVEN_CENTRAL}/org/keycloak/keycloak-quarkus-dist/{VERSION}/keycloak-quarkus-dist-{VERSION}.zip"
DIST_SHA256 = "490189d9dff05272432d51f71a069462eeca97f2920a694d539a1e6c26a5a347"
"""Of Maven Central's zip (its published SHA-1, 756c15bb71be020dd4a43a6fdb3c1340cb84d4b5, agrees)."""

MIN_JAVA = 21
JAVA_CANDIDATES = (Path("/usr/lib/jvm/temurin-25-jdk-amd64"),)
"""Where to look for a JDK >= 21 after JAVA_HOME (the machine's `java` on PATH may be an older one for Kafka)."""
HEAP = "-Xms64m -Xmx512m"
"""Modest: the machine is shared; Keycloak's own default is 70 % of the RAM."""

REALM = "bekymring"
CLIENT_ID = "portal"
AUDIENCE = "crp-api"
ACCESS_TOKEN_LIFESPAN_S = 300
BOOTSTRAP_ADMIN = "kc-admin"
"""The master realm's bootstrap administrator (password in the stack secrets)."""
READY_TIMEOUT = 240
"""The first start-dev builds Keycloak and creates its database: 60-90 s on a 2-core machine, more when busy."""
PORT_OFFSET = 80
CLAIM_ATTRIBUTES = {"crp_role": False, "departments": True, "municipality": False, "organisation": False}
"""User attributes that go into the access token as claims of the same name; True: a list (multivalued)."""


@dataclass(frozen=True)
class Person:
    """A demo person of the realm: one per role, plus a second municipality for scope tests."""

    username: str
    role: str
    first_name: str
    last_name: str
    departments: tuple[str, ...] = ()
    municipality: str | None = None
    organisation: str | None = None

    @property
    def secret_key(self) -> str:
        """Where the stack secrets keep the person's password."""
        return person_secret_key(self.username)

    @property
    def attributes(self) -> dict[str, list[str]]:
        """Keycloak user attributes: the claims the portal and the services read."""
        values = {"crp_role": [self.role], "departments": list(self.departments)}
        if self.municipality:
            values["municipality"] = [self.municipality]
        if self.organisation:
            values["organisation"] = [self.organisation]
        return {key: value for key, value in values.items() if value}


USERNAMES = ("vicevaert", "konsulent", "kommune-0316", "kommune-0326", "frivillig", "drift", "admin")
"""The demo people's usernames (the contract's); their passwords are generated into the stack secrets."""


def person_secret_key(username: str) -> str:
    """The key of a demo person's password in the stack secrets."""
    return f"person_{username.replace('-', '_')}_password"


def organisation_of(department: str, reference_file: Path | None = None) -> str:
    """The organisation a department belongs to, from intake's reference directory."""
    reference_file = reference_file or services.REFERENCE_FILE
    for organisation in yaml.safe_load(reference_file.read_text(encoding="utf-8"))["organisations"]:
        if any(d["id"] == department for d in organisation["departments"]):
            return organisation["id"]
    raise StackError(f"department {department} is not in {reference_file}")


def people(reference_file: Path | None = None) -> list[Person]:
    """The demo people; their departments and organisations from intake's reference directory (not copied)."""
    reference_file = reference_file or services.REFERENCE_FILE
    consultant = services.departments_served("consultant-holbaek", reference_file)
    association = services.departments_served("association-holbaek-naboskab", reference_file)
    return [
        Person(
            "vicevaert", "reporter", "Vibeke", "Vicevært", ("holbaek-1",),
            organisation=organisation_of("holbaek-1", reference_file),
        ),
        Person(
            "konsulent", "consultant", "Karsten", "Konsulent", tuple(consultant),
            organisation=organisation_of(consultant[0], reference_file),
        ),
        Person("kommune-0316", "municipality", "Holbæk", "Kommune", municipality="0316"),
        Person("kommune-0326", "municipality", "Kalundborg", "Kommune", municipality="0326"),
        # Beyond the contract's claims: routing scopes an association by its departments, as its API clients.
        Person("frivillig", "association", "Frida", "Frivillig", tuple(association)),
        Person("drift", "ops", "Dorthe", "Drift"),
        Person("admin", "admin", "Anders", "Administrator"),
    ]  # fmt: skip


# -- addresses -----------------------------------------------------------------------------------------------------


def port(cfg: StackConfig) -> int:
    """Keycloak's HTTP port: base port + 80 (8080 for `make up`, 18080 for the test stack)."""
    return cfg.base_port + PORT_OFFSET


def url(cfg: StackConfig) -> str:
    """Keycloak's address."""
    return f"http://127.0.0.1:{port(cfg)}"


def issuer(cfg: StackConfig) -> str:
    """The realm's issuer: the `iss` of its tokens and the base of its discovery document."""
    return f"{url(cfg)}/realms/{REALM}"


def portal_url(cfg: StackConfig) -> str:
    """The portal's address: base port + 0."""
    return f"http://127.0.0.1:{cfg.base_port}"


# -- the realm -----------------------------------------------------------------------------------------------------


def _attribute_mapper(attribute: str, multivalued: bool) -> dict:
    """A protocol mapper: the user attribute `attribute` as an access-token (and ID-token, userinfo) claim."""
    return {
        "name": attribute,
        "protocol": "openid-connect",
        "protocolMapper": "oidc-usermodel-attribute-mapper",
        "config": {
            "user.attribute": attribute,
            "claim.name": attribute,
            "jsonType.label": "String",
            "multivalued": str(multivalued).lower(),
            "aggregate.attrs": "false",
            "access.token.claim": "true",
            "id.token.claim": "true",
            "userinfo.token.claim": "true",
            "introspection.token.claim": "true",
        },
    }


def _audience_mapper() -> dict:
    """`crp-api` in every access token's `aud`: the services accept only tokens meant for them."""
    return {
        "name": f"audience {AUDIENCE}",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-audience-mapper",
        "config": {
            "included.custom.audience": AUDIENCE,
            "access.token.claim": "true",
            "id.token.claim": "false",
            "introspection.token.claim": "true",
        },
    }


def _user_profile() -> str:
    """The realm's declarative user profile: the usual four attributes, and the claim attributes, which only an
    administrator sees or changes (a person cannot give themselves another role in the account console)."""
    admin_only = {"view": ["admin"], "edit": ["admin"]}
    person_edits = {"view": ["admin", "user"], "edit": ["admin", "user"]}
    person_sees = {"view": ["admin", "user"], "edit": ["admin"]}
    attributes = [
        {"name": "username", "displayName": "${username}", "permissions": person_sees,
         "validations": {"length": {"min": 3, "max": 255}, "username-prohibited-characters": {},
                         "up-username-not-idn-homograph": {}}},
        {"name": "email", "displayName": "${email}", "permissions": person_edits,
         "validations": {"email": {}, "length": {"max": 255}}},
        {"name": "firstName", "displayName": "${firstName}", "permissions": person_edits,
         "validations": {"length": {"max": 255}, "person-name-prohibited-characters": {}}},
        {"name": "lastName", "displayName": "${lastName}", "permissions": person_edits,
         "validations": {"length": {"max": 255}, "person-name-prohibited-characters": {}}},
    ]  # fmt: skip
    for attribute, multivalued in CLAIM_ATTRIBUTES.items():
        attributes.append(
            {"name": attribute, "displayName": attribute, "permissions": admin_only, "multivalued": multivalued}
        )
    config = {"attributes": attributes, "groups": [], "unmanagedAttributePolicy": "ADMIN_VIEW"}
    return json.dumps(config, separators=(",", ":"))


def _user(person: Person, password: str) -> dict:
    return {
        "username": person.username,
        "enabled": True,
        "email": f"{person.username}@example.dk",
        "emailVerified": True,
        "firstName": person.first_name,
        "lastName": person.last_name,
        "attributes": person.attributes,
        "credentials": [{"type": "password", "value": password, "temporary": False}],
        "requiredActions": [],
    }


def realm(cfg: StackConfig, secrets: dict[str, str], reference_file: Path | None = None) -> dict:
    """The realm import of a stack: the client `portal`, its token claims and the demo people."""
    portal = portal_url(cfg)
    client = {
        "clientId": CLIENT_ID,
        "name": "Bekymringsportalen",
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": False,
        "clientAuthenticatorType": "client-secret",
        "secret": secrets["PORTAL_OIDC_CLIENT_SECRET"],
        "standardFlowEnabled": True,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "serviceAccountsEnabled": False,
        "frontchannelLogout": False,
        "consentRequired": False,
        "fullScopeAllowed": False,
        "rootUrl": portal,
        "baseUrl": f"{portal}/",
        "redirectUris": [f"{portal}/auth/callback"],
        "webOrigins": [],
        "attributes": {
            "pkce.code.challenge.method": "S256",
            "post.logout.redirect.uris": f"{portal}/",
            "access.token.lifespan": str(ACCESS_TOKEN_LIFESPAN_S),
            "access.token.signed.response.alg": "RS256",
            "id.token.signed.response.alg": "RS256",
        },
        "protocolMappers": [*(_attribute_mapper(a, m) for a, m in CLAIM_ATTRIBUTES.items()), _audience_mapper()],
        "defaultClientScopes": ["basic", "profile", "acr", "web-origins"],
        "optionalClientScopes": ["email"],  # the portal may ask for it; the services never need it
    }
    return {
        "realm": REALM,
        "displayName": "Bekymringsplatformen (demo)",
        "enabled": True,
        "sslRequired": "external",
        "registrationAllowed": False,
        "resetPasswordAllowed": False,
        "rememberMe": False,
        "loginWithEmailAllowed": False,
        # Locks a person out for a minute after 10 wrong passwords (or two within a second), up to 15 minutes; the
        # import leaves every number it is not given at 0, which would lock them out after one typo.
        "bruteForceProtected": True,
        "permanentLockout": False,
        "failureFactor": 10,
        "waitIncrementSeconds": 60,
        "maxFailureWaitSeconds": 900,
        "maxDeltaTimeSeconds": 43200,
        "quickLoginCheckMilliSeconds": 1000,
        "minimumQuickLoginWaitSeconds": 60,
        "defaultSignatureAlgorithm": "RS256",
        "accessTokenLifespan": ACCESS_TOKEN_LIFESPAN_S,
        "internationalizationEnabled": True,
        "supportedLocales": ["da", "en"],
        "defaultLocale": "da",
        "clients": [client],
        "users": [_user(p, secrets[p.secret_key]) for p in people(reference_file)],
        "components": {
            "org.keycloak.userprofile.UserProfileProvider": [
                {
                    "providerId": "declarative-user-profile",
                    "subComponents": {},
                    "config": {"kc.user.profile.config": [_user_profile()]},
                }
            ]
        },  # fmt: skip
    }


def people_credentials(secrets: dict[str, str], reference_file: Path | None = None) -> dict[str, dict]:
    """What credentials.json keeps under "people": each demo person's password, role and scope."""
    found = {}
    for person in people(reference_file):
        entry: dict = {"password": secrets[person.secret_key], "role": person.role}
        entry |= {"departments": list(person.departments)} if person.departments else {}
        entry |= {"municipality": person.municipality} if person.municipality else {}
        entry |= {"organisation": person.organisation} if person.organisation else {}
        found[person.username] = entry
    return found


# -- the distribution ------------------------------------------------------------------------------------------------


def zip_path() -> Path:
    """The downloaded distribution in the user cache."""
    return cache_dir() / f"keycloak-quarkus-dist-{VERSION}.zip"


def home_dir(cfg: StackConfig) -> Path:
    """The stack's own Keycloak: its build, configuration, dev-file database and realm import."""
    return cfg.home / "keycloak" / f"keycloak-{VERSION}"


def realm_file(cfg: StackConfig) -> Path:
    """Where `--import-realm` finds the realm (it holds the people's passwords and the client secret: 0600)."""
    return home_dir(cfg) / "data" / "import" / f"{REALM}-realm.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@retry(
    stop=stop_after_attempt(4),
    wait=wait_exponential(multiplier=2, max=20),
    retry=retry_if_not_exception_type(StackError),
    reraise=True,
)
def _download(target: Path) -> None:
    """Download the zip to `target`, verify its SHA-256, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        with httpx.stream("GET", DIST_URL, timeout=60, follow_redirects=True) as response:
            response.raise_for_status()
            with tmp.open("wb") as out:
                for block in response.iter_bytes(1 << 20):
                    out.write(block)
        actual = _sha256(tmp)
        if actual != DIST_SHA256:
            raise StackError(f"checksum mismatch for {DIST_URL}: expected {DIST_SHA256}, got {actual}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def fetch(on_download=None) -> Path:
    """The verified distribution zip in the cache, downloaded from Maven Central when missing or damaged."""
    target = zip_path()
    if target.is_file() and _sha256(target) == DIST_SHA256:
        return target
    if on_download:
        on_download(DIST_URL, target)
    _download(target)
    return target


def _extract(archive: Path, destination: Path) -> None:
    """Unzip the distribution's one top-level directory as `destination`, with the scripts' execute bits."""
    work = destination.parent / f".unpack-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(work)  # noqa: S202 - our own verified archive
        for info in zf.infolist():
            mode = (info.external_attr >> 16) & 0o777
            if mode & stat.S_IXUSR and not info.is_dir():
                path = work / info.filename
                path.chmod(path.stat().st_mode | stat.S_IXUSR)
    (top,) = work.iterdir()
    os.replace(top, destination)
    work.rmdir()


def install(cfg: StackConfig, on_download=None) -> Path:
    """The stack's Keycloak home, unpacked from the cached (or freshly downloaded) distribution once."""
    home = home_dir(cfg)
    if (home / "bin" / "kc.sh").is_file():
        return home
    home.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _extract(fetch(on_download), home)
    return home


def java_home() -> Path:
    """A JDK >= 21 for Keycloak: JAVA_HOME when it is new enough, else the machine's Temurin, else `java` on PATH."""
    candidates: list[tuple[str, Path]] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(("JAVA_HOME", Path(os.environ["JAVA_HOME"])))
    candidates += [(str(c), c) for c in JAVA_CANDIDATES]
    if on_path := shutil.which("java"):
        candidates.append(("java on PATH", Path(on_path).resolve().parent.parent))
    seen = []
    for what, home in candidates:
        java = home / "bin" / "java"
        version = major_version(str(java)) if java.is_file() else None
        if version is not None and version >= MIN_JAVA:
            return home
        seen.append(f"{what}: {f'Java {version}' if version else 'none'}")
    raise StackError(
        f"Keycloak {VERSION} needs Java >= {MIN_JAVA}, and none was found ({'; '.join(seen)}); install a JDK 21 or"
        " newer (e.g. Temurin 25 in /usr/lib/jvm/temurin-25-jdk-amd64) or point JAVA_HOME at one"
    )


def database_dir(cfg: StackConfig) -> Path:
    """Keycloak's dev-file (H2) database of the stack: the realm as imported, sessions, the bootstrap admin."""
    return home_dir(cfg) / "data" / "h2"


def write_realm(cfg: StackConfig, secrets: dict[str, str]) -> bool:
    """Render the realm import into the stack's Keycloak home; True when it changed since Keycloak imported it
    (the import is skipped for an existing realm, so `reset` makes Keycloak import the new one)."""
    text = json.dumps(realm(cfg, secrets), indent=2, ensure_ascii=False) + "\n"
    path = realm_file(cfg)
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, text)
    return database_dir(cfg).exists()


def reset(cfg: StackConfig) -> None:
    """Stop the stack's Keycloak and drop its database: its next start imports the realm afresh."""
    if supervisor.is_running(cfg) and "keycloak" in supervisor.states(cfg):
        supervisor.ctl(cfg, "stop", "keycloak", check=False)
    shutil.rmtree(database_dir(cfg), ignore_errors=True)


def program(cfg: StackConfig, secrets: dict[str, str], java: Path | str) -> Program:
    """The supervisord program: `kc.sh start-dev` on 127.0.0.1, the realm imported, a modest heap."""
    home = home_dir(cfg)
    command = [
        str(home / "bin" / "kc.sh"), "start-dev", "--import-realm",
        "--http-host=127.0.0.1", f"--http-port={port(cfg)}", f"--hostname={url(cfg)}",
        f"--http-management-port={port(cfg) + 1}",  # the management interface's default 9000 would collide
        "--db=dev-file", "--cache=local", "--log=console", "--log-console-color=false",
    ]  # fmt: skip
    environment = {
        "JAVA_HOME": str(java),
        "JAVA_OPTS_KC_HEAP": HEAP,
        "KC_BOOTSTRAP_ADMIN_USERNAME": BOOTSTRAP_ADMIN,
        "KC_BOOTSTRAP_ADMIN_PASSWORD": secrets["keycloak_admin_password"],
    }
    return Program(
        "keycloak", command, cfg.log("keycloak"), autostart=False, directory=home, environment=environment,
        stopwaitsecs=30, startsecs=5,
    )  # fmt: skip


def is_ready(cfg: StackConfig) -> bool:
    """True when the realm's discovery document names its issuer; a StackError when supervisord gave up."""
    if supervisor.states(cfg).get("keycloak") in ("FATAL", "EXITED", "STOPPED"):
        raise StackError(f"Keycloak is not running; see {cfg.log('keycloak')}")
    response = httpx.get(f"{issuer(cfg)}/.well-known/openid-configuration", timeout=5)
    return response.status_code == 200 and response.json().get("issuer") == issuer(cfg)
