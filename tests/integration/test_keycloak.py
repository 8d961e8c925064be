"""The test stack's Keycloak: the realm's discovery document, and a person's real login through its login page
(authorization code with PKCE, as the portal does it) yielding an access token with the contract's claims.

Needs the test stack's stack.env (OIDC_ISSUER, PORTAL_OIDC_CLIENT_ID/SECRET, PORTAL_URL, CREDENTIALS_FILE).
"""

import json
import os
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.oidc_login import LoginForm, pkce_pair

pytestmark = pytest.mark.integration

AUDIENCE = "crp-api"


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: load the test stack's stack.env (`set -a; . .local/test/stack.env`)")
    return value


@pytest.fixture(scope="module")
def issuer() -> str:
    return _env("OIDC_ISSUER")


@pytest.fixture(scope="module")
def discovery(issuer: str) -> dict:
    response = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200, response.text[:500]
    return response.json()


@pytest.fixture(scope="module")
def people() -> dict[str, dict]:
    return json.loads(Path(_env("CREDENTIALS_FILE")).read_text())["people"]


def _redirect_uri() -> str:
    return f"{_env('PORTAL_URL')}/auth/callback"


def _login_form(http: httpx.Client, discovery: dict, state: str, challenge: str | None) -> httpx.Response:
    """GET the authorization endpoint as a browser would: Keycloak's login page (or a redirect with an error)."""
    params = {
        "client_id": _env("PORTAL_OIDC_CLIENT_ID"),
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": _redirect_uri(),
        "state": state,
    }
    if challenge:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return http.get(discovery["authorization_endpoint"], params=params)


def _log_in(http: httpx.Client, discovery: dict, username: str, password: str) -> tuple[httpx.Response, str, str]:
    """Through the login page with a username and password: Keycloak's answer to the form, the state, the verifier."""
    state = secrets.token_urlsafe(16)
    verifier, challenge = pkce_pair()
    page = _login_form(http, discovery, state, challenge)
    assert page.status_code == 200, page.text[:500]
    form = LoginForm()
    form.feed(page.text)
    assert form.action, "no login form (kc-form-login) on Keycloak's page"
    # Keycloak's login cookies are Secure: a browser sends them to http://127.0.0.1 (a trustworthy origin), httpx
    # sends Secure cookies over https only; so, as a browser, we send them ourselves.
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in http.cookies.jar)
    credentials = {"username": username, "password": password, "credentialId": ""}
    answer = http.post(form.action, data=credentials, headers={"Cookie": cookies})
    return answer, state, verifier


def _code(answer: httpx.Response, state: str) -> str:
    """The authorization code of a successful login: Keycloak redirects to the portal's exact callback."""
    assert answer.status_code == 302, f"no redirect after the login form: {answer.status_code} {answer.text[:300]}"
    location = answer.headers["location"]
    assert location.split("?")[0] == _redirect_uri()
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    return query["code"][0]


def _tokens(discovery: dict, code: str, verifier: str) -> dict:
    response = httpx.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": _redirect_uri(),
            "code_verifier": verifier,
            "client_id": _env("PORTAL_OIDC_CLIENT_ID"),
            "client_secret": _env("PORTAL_OIDC_CLIENT_SECRET"),
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text[:500]
    return response.json()


def _claims(discovery: dict, access_token: str) -> dict:
    """The access token's claims, its RS256 signature checked against the realm's JWKS."""
    keys = KeySet.import_key_set(httpx.get(discovery["jwks_uri"], timeout=10).json())
    token = jwt.decode(access_token, keys, algorithms=["RS256"])
    assert token.header["alg"] == "RS256"
    return token.claims


def _login_claims(discovery: dict, people: dict, username: str) -> dict:
    with httpx.Client(timeout=15, follow_redirects=False) as http:
        answer, state, verifier = _log_in(http, discovery, username, people[username]["password"])
        code = _code(answer, state)
    return _claims(discovery, _tokens(discovery, code, verifier)["access_token"])


def test_discovery_document_names_the_realm_as_issuer(issuer: str, discovery: dict) -> None:
    assert issuer.endswith("/realms/bekymring")
    assert discovery["issuer"] == issuer
    assert "S256" in discovery["code_challenge_methods_supported"]
    assert "RS256" in discovery["id_token_signing_alg_values_supported"]


def test_municipality_login_yields_the_contracts_claims(issuer: str, discovery: dict, people: dict) -> None:
    claims = _login_claims(discovery, people, "kommune-0316")

    assert claims["iss"] == issuer
    assert AUDIENCE in (claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]])
    assert claims["exp"] - claims["iat"] == 300
    assert claims["sub"]
    assert claims["preferred_username"] == "kommune-0316"
    assert claims["name"]
    assert claims["crp_role"] == "municipality"
    assert claims["municipality"] == "0316"
    assert "departments" not in claims
    assert "organisation" not in claims


def test_consultant_login_yields_departments_and_organisation(discovery: dict, people: dict) -> None:
    claims = _login_claims(discovery, people, "konsulent")

    assert claims["preferred_username"] == "konsulent"
    assert claims["crp_role"] == "consultant"
    assert claims["departments"] == people["konsulent"]["departments"]
    assert isinstance(claims["departments"], list) and claims["departments"]
    assert claims["organisation"] == people["konsulent"]["organisation"]
    assert "municipality" not in claims


def test_a_wrong_password_gets_no_code(discovery: dict, people: dict) -> None:
    with httpx.Client(timeout=15, follow_redirects=False) as http:
        answer, _, _ = _log_in(http, discovery, "konsulent", people["konsulent"]["password"] + "-wrong")

    assert answer.status_code == 200  # the login page again, with an error
    assert "location" not in answer.headers
    assert 'id="kc-form-login"' in answer.text


def test_one_wrong_password_does_not_lock_the_person_out(discovery: dict, people: dict) -> None:
    with httpx.Client(timeout=15, follow_redirects=False) as http:
        _log_in(http, discovery, "vicevaert", people["vicevaert"]["password"] + "-typo")
    time.sleep(1.5)  # two failures within a second would (Keycloak's quick-login check)

    claims = _login_claims(discovery, people, "vicevaert")

    assert claims["crp_role"] == "reporter"
    assert claims["departments"] == ["holbaek-1"]
    assert claims["organisation"] == people["vicevaert"]["organisation"]


def test_a_login_without_pkce_is_refused(discovery: dict) -> None:
    with httpx.Client(timeout=15, follow_redirects=False) as http:
        answer = _login_form(http, discovery, state="no-pkce", challenge=None)

    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["invalid_request"]
    assert "code" not in query


def test_a_redirect_uri_that_is_not_the_portals_exact_callback_is_refused(discovery: dict) -> None:
    _, challenge = pkce_pair()
    params = {
        "client_id": _env("PORTAL_OIDC_CLIENT_ID"),
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": f"{_env('PORTAL_URL')}/auth/callback/../elsewhere",
        "state": "x",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    answer = httpx.get(discovery["authorization_endpoint"], params=params, timeout=15)

    assert answer.status_code == 400  # Keycloak's own error page, no redirect anywhere
    assert "location" not in answer.headers
