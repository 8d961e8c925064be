"""The realm the local stack imports into Keycloak: one demo person per role with the contract's claims, a
confidential client `portal` that requires PKCE S256 and knows exact redirect URIs only, short access tokens."""

import json
from pathlib import Path

import pytest

from deploy import keycloak, portal, services, stack_secrets
from deploy.config import StackConfig, StackError
from shared.auth.principal import Role

pytestmark = pytest.mark.unit

CFG = StackConfig(home=Path("/nonexistent/stack"), base_port=18000)


@pytest.fixture(scope="module")
def secrets() -> dict[str, str]:
    return stack_secrets._fresh()


@pytest.fixture(scope="module")
def realm(secrets: dict[str, str]) -> dict:
    return keycloak.realm(CFG, secrets)


def _client(realm: dict) -> dict:
    (client,) = realm["clients"]
    return client


def _attributes(realm: dict) -> dict[str, dict]:
    return {user["username"]: user["attributes"] for user in realm["users"]}


def test_every_role_has_a_demo_person(realm: dict) -> None:
    roles = [attributes["crp_role"] for attributes in _attributes(realm).values()]
    assert all(len(role) == 1 for role in roles)
    assert {role for (role,) in roles} == {role.value for role in Role}


def test_the_contracts_usernames_and_a_second_municipality(realm: dict) -> None:
    attributes = _attributes(realm)
    assert tuple(attributes) == keycloak.USERNAMES
    assert attributes["kommune-0316"]["municipality"] == ["0316"]
    assert attributes["kommune-0326"]["municipality"] == ["0326"]


def test_scopes_come_from_intakes_reference_directory(realm: dict) -> None:
    attributes = _attributes(realm)
    assert attributes["vicevaert"]["departments"] == ["holbaek-1"]
    assert attributes["vicevaert"]["organisation"] == ["org-demo"]
    assert attributes["konsulent"]["departments"] == services.departments_served("consultant-holbaek")
    assert attributes["konsulent"]["organisation"] == ["org-demo"]
    assert "departments" not in attributes["drift"] and "municipality" not in attributes["admin"]


def test_people_log_in_with_their_password_from_the_secrets_without_a_required_action(
    realm: dict, secrets: dict[str, str]
) -> None:
    for user in realm["users"]:
        (credential,) = user["credentials"]
        assert credential == {
            "type": "password",
            "value": secrets[keycloak.person_secret_key(user["username"])],
            "temporary": False,
        }
        assert user["enabled"] and user["emailVerified"] and user["requiredActions"] == []
        assert user["firstName"] and user["lastName"] and user["email"].endswith("@example.dk")
    assert len({keycloak.person_secret_key(u) for u in keycloak.USERNAMES}) == len(keycloak.USERNAMES)


def test_the_client_is_confidential_and_requires_pkce_s256(realm: dict, secrets: dict[str, str]) -> None:
    client = _client(realm)
    assert client["clientId"] == "portal"
    assert client["publicClient"] is False
    assert client["secret"] == secrets["PORTAL_OIDC_CLIENT_SECRET"]
    assert client["attributes"]["pkce.code.challenge.method"] == "S256"
    assert client["standardFlowEnabled"] is True
    assert client["implicitFlowEnabled"] is False
    assert client["directAccessGrantsEnabled"] is False
    assert client["serviceAccountsEnabled"] is False


def test_redirect_uris_are_exact_without_a_wildcard(realm: dict) -> None:
    client = _client(realm)
    assert client["redirectUris"] == ["http://127.0.0.1:18000/auth/callback"]
    assert client["attributes"]["post.logout.redirect.uris"] == "http://127.0.0.1:18000/"
    uris = [*client["redirectUris"], client["attributes"]["post.logout.redirect.uris"], *client["webOrigins"]]
    assert not any("*" in uri or uri == "+" for uri in uris)


def test_access_tokens_are_rs256_for_crp_api_and_live_five_minutes(realm: dict) -> None:
    client = _client(realm)
    assert realm["accessTokenLifespan"] == 300
    assert client["attributes"]["access.token.lifespan"] == "300"
    assert realm["defaultSignatureAlgorithm"] == "RS256"
    assert client["attributes"]["access.token.signed.response.alg"] == "RS256"
    (audience,) = [m for m in client["protocolMappers"] if m["protocolMapper"] == "oidc-audience-mapper"]
    assert audience["config"]["included.custom.audience"] == "crp-api"
    assert audience["config"]["access.token.claim"] == "true"


def test_claim_mappers_put_the_attributes_into_the_access_token(realm: dict) -> None:
    mappers = {
        m["config"]["claim.name"]: m["config"]
        for m in _client(realm)["protocolMappers"]
        if m["protocolMapper"] == "oidc-usermodel-attribute-mapper"
    }
    assert set(mappers) == {"crp_role", "departments", "municipality", "organisation"}
    assert all(config["user.attribute"] == claim for claim, config in mappers.items())
    assert all(config["access.token.claim"] == "true" for config in mappers.values())
    assert mappers["departments"]["multivalued"] == "true"  # a list, even with one department
    assert mappers["crp_role"]["multivalued"] == "false"
    assert {"basic", "profile"} <= set(_client(realm)["defaultClientScopes"])  # sub; name, preferred_username


def test_only_an_administrator_may_change_the_claim_attributes(realm: dict) -> None:
    (profile,) = realm["components"]["org.keycloak.userprofile.UserProfileProvider"]
    config = json.loads(profile["config"]["kc.user.profile.config"][0])
    declared = {attribute["name"]: attribute for attribute in config["attributes"]}
    for claim in keycloak.CLAIM_ATTRIBUTES:
        assert declared[claim]["permissions"]["edit"] == ["admin"]
    assert config["unmanagedAttributePolicy"] != "ENABLED"


def test_people_credentials_name_password_and_role(secrets: dict[str, str]) -> None:
    people = keycloak.people_credentials(secrets)
    assert set(people) == set(keycloak.USERNAMES)
    assert people["konsulent"]["password"] == secrets["person_konsulent_password"]
    assert people["kommune-0316"] == {
        "password": secrets["person_kommune_0316_password"],
        "role": "municipality",
        "municipality": "0316",
    }


def test_credentials_file_keeps_the_clients_of_an_older_list_file(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps([{"name": "demo-admin", "role": "admin", "token": "crp_x"}]))
    assert services.read_credentials(path) == {"clients": [{"name": "demo-admin", "role": "admin", "token": "crp_x"}],
                                               "people": {}}  # fmt: skip
    path.write_text(json.dumps({"clients": [], "people": {"drift": {"password": "p", "role": "ops"}}}))
    assert services.read_credentials(path)["people"] == {"drift": {"password": "p", "role": "ops"}}


def test_addresses_follow_the_base_port() -> None:
    assert keycloak.port(CFG) == 18080
    assert keycloak.issuer(CFG) == "http://127.0.0.1:18080/realms/bekymring"
    assert keycloak.portal_url(CFG) == "http://127.0.0.1:18000"
    assert keycloak.issuer(StackConfig(home=CFG.home)) == "http://127.0.0.1:8080/realms/bekymring"


def test_services_and_portal_get_the_issuer_and_audience(secrets: dict[str, str]) -> None:
    env = services.environment(CFG, secrets, "routing")
    assert env["OIDC_ISSUER"] == "http://127.0.0.1:18080/realms/bekymring"
    assert env["OIDC_AUDIENCE"] == "crp-api"
    portal_env = portal.environment(CFG, secrets)
    assert portal_env["HTTP_PORT"] == "18000"
    assert portal_env["DATABASE_URL"].endswith("@127.0.0.1:5432/portal")
    assert portal_env["DATABASE_URL"].startswith("postgresql://portal:")
    assert portal_env["PORTAL_OIDC_CLIENT_SECRET"] == secrets["PORTAL_OIDC_CLIENT_SECRET"]
    assert portal_env["ROUTING_URL"] == "http://127.0.0.1:18002"


def test_keycloak_runs_dev_mode_on_its_port_with_a_modest_heap(secrets: dict[str, str]) -> None:
    program = keycloak.program(CFG, secrets, "/opt/jdk")
    assert program.command[1] == "start-dev"
    assert "--import-realm" in program.command
    assert "--http-port=18080" in program.command and "--http-host=127.0.0.1" in program.command
    assert program.environment["JAVA_HOME"] == "/opt/jdk"
    assert "-Xmx512m" in program.environment["JAVA_OPTS_KC_HEAP"]
    assert program.environment["KC_BOOTSTRAP_ADMIN_PASSWORD"] == secrets["keycloak_admin_password"]


def test_without_java_21_the_error_says_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    monkeypatch.setattr(keycloak, "JAVA_CANDIDATES", (tmp_path / "temurin",))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StackError, match="needs Java >= 21"):
        keycloak.java_home()


def test_a_changed_realm_is_imported_again(tmp_path: Path, secrets: dict[str, str]) -> None:
    cfg = StackConfig(home=tmp_path, base_port=18000)
    assert keycloak.write_realm(cfg, secrets) is False  # first import: no database yet
    keycloak.database_dir(cfg).mkdir(parents=True)
    assert keycloak.write_realm(cfg, secrets) is False  # unchanged: Keycloak keeps its database
    assert keycloak.realm_file(cfg).stat().st_mode & 0o077 == 0  # it holds passwords

    assert keycloak.write_realm(StackConfig(home=tmp_path, base_port=19000), secrets) is True
    keycloak.reset(cfg)
    assert not keycloak.database_dir(cfg).exists()


def test_brute_force_protection_does_not_lock_out_after_one_typo(realm: dict) -> None:
    assert realm["bruteForceProtected"] is True and realm["permanentLockout"] is False
    assert realm["failureFactor"] >= 5  # the import's default, 0, locks a person out after one wrong password
    assert 0 < realm["waitIncrementSeconds"] <= realm["maxFailureWaitSeconds"]
