"""The portal's and the services' refusals, tried as an attacker would: another municipality's referral through
every page and straight at the APIs (with a valid CSRF token), a caretaker at the staff desks, an expired or a
tampered session, forged and tampered JWTs, a POST without its CSRF token; the headers and cookies every answer
carries; and a planted resident name that must never reach a page served to someone without the legal basis.

Each refusal has its positive control beside it (the same request by the person who may, or with what is missing
put back), so a refusal of everything would not pass.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import time
import uuid

import asyncpg
import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.portal.support.bodies import Served
from tests.portal.support.concerns import one, referral, referrals_of, report_concern
from tests.portal.support.oidc import access_token

pytestmark = pytest.mark.portal

COOKIE = "portal_session"
LOGIN = re.compile(r"^/auth/login\?next=")


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: load the test stack's stack.env (a stack with the portal and Keycloak)")
    return value.rstrip("/")


async def _person(chromium: Browser, login, user: str) -> tuple[BrowserContext, Page]:  # noqa: ANN001
    """A fresh browser profile with `user` logged in through Keycloak's page."""
    context = await chromium.new_context(viewport={"width": 390, "height": 844}, locale="da-DK")
    page = await context.new_page()
    await login(page, user)
    return context, page


async def _csrf(page: Page) -> str:
    """The session's CSRF token, as every page's logout form carries it."""
    return await page.locator('input[name="csrf_token"]').first.get_attribute("value")


async def _session_cookie(context: BrowserContext) -> str:
    return next(c["value"] for c in await context.cookies() if c["name"] == COOKIE)


async def _post(page: Page, path: str, form: dict[str, str]):  # noqa: ANN202 - a Playwright APIResponse
    """A form POST with the browser profile's cookies, its redirect not followed."""
    return await page.request.post(f"{_env('PORTAL_URL')}{path}", form=form, max_redirects=0)


async def _get(page: Page, path: str):  # noqa: ANN202 - a Playwright APIResponse
    return await page.request.get(f"{_env('PORTAL_URL')}{path}", max_redirects=0)


def _redirected_to_login(response) -> bool:  # noqa: ANN001
    location = response.headers.get("location", "")
    return response.status in (302, 303) and bool(LOGIN.match(location))


# -- scope: municipality 0316 and 0326's referral --------------------------------------------------------------------


async def test_municipality_0316_can_neither_see_nor_move_a_referral_of_0326(chromium: Browser, login) -> None:
    resident = f"Kalundborg Beboer {uuid.uuid4().hex[:8]}"
    concern = await report_concern(department="hoeng-1", categories=["rent_arrears"], resident_name=resident)
    theirs = one(await referrals_of(concern["id"], targets={"municipality"}), "municipality")
    assert theirs["municipality_code"] == "0326"
    referral_id = theirs["referral_id"]

    context, page = await _person(chromium, login, "kommune-0316")
    try:
        served = await Served.watch(context, _env("PORTAL_URL"))
        for path in ("/indbakke", "/indbakke?vis=alle"):
            await page.goto(f"{_env('PORTAL_URL')}{path}")
            assert referral_id not in await page.content(), f"0326's referral is listed on 0316's {path}"
        answer = await page.goto(f"{_env('PORTAL_URL')}/indbakke/{referral_id}")
        assert answer.status == 404, f"0316 opened 0326's referral: {answer.status}"
        await expect(page.get_by_role("heading", level=1)).to_have_text("Siden findes ikke")
        answer = await page.goto(f"{_env('PORTAL_URL')}/arbejdsliste/{referral_id}")
        assert answer.status == 403, f"0316 at the worklist's page of the referral: {answer.status}"
        assert not served.containing(resident), f"0326's resident on 0316's pages: {served.containing(resident)}"

        token = await _csrf(page)
        moved = await _post(page, f"/indbakke/{referral_id}/flyt", {"csrf_token": token, "to": "received"})
        assert moved.status == 404, f"0316 moved 0326's referral through the page: {moved.status}"
        consent = await _post(page, f"/indbakke/{referral_id}/samtykke", {"csrf_token": token, "consent": "given"})
        assert consent.status in (403, 404), f"0316 registered consent on 0326's concern: {consent.status}"
        by_worklist = await _post(page, f"/arbejdsliste/{referral_id}/flyt", {"csrf_token": token, "to": "received"})
        assert by_worklist.status == 403
    finally:
        await context.close()

    # Straight at the APIs with 0316's own, genuine token.
    jwt_0316 = await access_token("kommune-0316")
    async with httpx.AsyncClient(timeout=20, headers={"Authorization": f"Bearer {jwt_0316}"}) as api:
        seen = await api.get(f"{_env('ROUTING_URL')}/v1/referrals/{referral_id}")
        assert seen.status_code in (403, 404), f"routing showed 0316 the 0326 referral: {seen.status_code}"
        listed = await api.get(f"{_env('ROUTING_URL')}/v1/referrals", params={"municipality": "0326", "limit": 500})
        if listed.status_code == 200:
            assert referral_id not in listed.text, "routing lists 0326's referral to 0316"
        else:
            assert listed.status_code in (403, 422), listed.status_code
        moved = await api.post(f"{_env('ROUTING_URL')}/v1/referrals/{referral_id}/transitions", json={"to": "received"})
        assert moved.status_code in (403, 404), f"routing let 0316 move 0326's referral: {moved.status_code}"
        details = await api.get(f"{_env('INTAKE_URL')}/v1/concerns/{concern['id']}")
        assert details.status_code in (403, 404) or resident not in details.text, "intake showed 0316 the resident"
    after = await referral(referral_id)
    assert after["status"] == "requested" and not after["history"], f"the referral moved: {after['status']}"

    # The control: 0326 sees it and may move it.
    context, page = await _person(chromium, login, "kommune-0326")
    try:
        answer = await page.goto(f"{_env('PORTAL_URL')}/indbakke/{referral_id}")
        assert answer.status == 200, f"0326 cannot open its own referral: {answer.status}"
        moved = await _post(page, f"/indbakke/{referral_id}/flyt", {"csrf_token": await _csrf(page), "to": "received"})
        assert moved.status == 303, f"0326 cannot acknowledge its own referral: {moved.status}"
    finally:
        await context.close()
    assert (await referral(referral_id))["status"] == "received"


async def test_a_caretaker_cannot_open_the_staff_desks_or_the_admin_pages(page: Page, login, portal_url: str) -> None:
    concern = await report_concern(department="holbaek-1", categories=["hoarding"], resident_name="Ingen Adgang")
    consultant = one(await referrals_of(concern["id"], targets={"consultant"}), "consultant")
    await login(page, "vicevaert")
    for path in (
        "/arbejdsliste",
        f"/arbejdsliste/{consultant['referral_id']}",
        "/indbakke",
        "/admin/regler",
        "/admin/klienter",
        "/admin/webhooks",
        "/admin/simulering",
    ):
        answer = await page.goto(f"{portal_url}{path}")
        assert answer.status == 403, f"a caretaker opened {path}: {answer.status}"
        await expect(page.get_by_role("heading", level=1)).to_have_text("Du har ikke adgang til siden")
    moved = await _post(
        page, f"/arbejdsliste/{consultant['referral_id']}/flyt", {"csrf_token": await _csrf(page), "to": "received"}
    )
    assert moved.status == 403, f"a caretaker moved a referral: {moved.status}"
    assert (await referral(consultant["referral_id"]))["status"] == "requested"
    # The control: the caretaker's own pages open.
    assert (await page.goto(f"{portal_url}/bekymringer/ny")).status == 200


# -- sessions --------------------------------------------------------------------------------------------------------


async def _expire(raw_id: str, statement: str) -> None:
    db = await asyncpg.connect(_env("PORTAL_DATABASE_URL"))
    try:
        status = await db.execute(statement, hashlib.sha256(raw_id.encode()).digest())
    finally:
        await db.close()
    assert status == "UPDATE 1", f"the session's row was not found in the portal's table: {status}"


async def _session_rows(raw_id: str) -> int:
    db = await asyncpg.connect(_env("PORTAL_DATABASE_URL"))
    try:
        return await db.fetchval(
            "SELECT count(*) FROM portal_sessions WHERE id_hash = $1", hashlib.sha256(raw_id.encode()).digest()
        )
    finally:
        await db.close()


@pytest.mark.parametrize(
    "how",
    [
        pytest.param(
            "UPDATE portal_sessions SET expires_at = now() - interval '1 second' WHERE id_hash = $1", id="max"
        ),
        pytest.param(
            "UPDATE portal_sessions SET last_seen_at = now() - interval '1 day' WHERE id_hash = $1", id="idle"
        ),
    ],
)
async def test_an_expired_session_is_refused(chromium: Browser, login, how: str) -> None:
    context, page = await _person(chromium, login, "konsulent")
    try:
        raw = await _session_cookie(context)
        assert (await _get(page, "/arbejdsliste")).status == 200, "the live session does not open the worklist"
        await _expire(raw, how)
        answer = await _get(page, "/arbejdsliste")
        assert _redirected_to_login(answer), f"an expired session opened the worklist: {answer.status}"
        posted = await _post(page, "/auth/logout", {"csrf_token": await _csrf(page)})
        assert posted.status == 403, f"an expired session's CSRF token still works: {posted.status}"
        assert await _session_rows(raw) == 0, "the expired session's row is still in the table"
    finally:
        await context.close()


async def test_a_tampered_session_cookie_gets_the_login_page(chromium: Browser, login, portal_url: str) -> None:
    context, page = await _person(chromium, login, "konsulent")
    try:
        cookie = next(c for c in await context.cookies() if c["name"] == COOKIE)
    finally:
        await context.close()
    raw = cookie["value"]
    tampered = [raw[:-1] + ("A" if raw[-1] != "A" else "B"), raw[1:], raw + "x", "0" * len(raw), "", "a" * 500]
    for value in tampered:
        stranger = await chromium.new_context(locale="da-DK")
        try:
            if value:
                await stranger.add_cookies([{**cookie, "value": value}])
            page = await stranger.new_page()
            first = await page.request.get(f"{portal_url}/arbejdsliste", max_redirects=0)
            assert _redirected_to_login(first), f"a tampered cookie ({len(value)} chars) got {first.status}"
            await page.goto(f"{portal_url}/arbejdsliste")
            await expect(page.locator("#kc-login")).to_be_visible()
            assert page.url.startswith(_env("OIDC_ISSUER")), page.url
        finally:
            await stranger.close()


# -- JWTs straight at the services -----------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _with_claims(token: str, **changes: object) -> str:
    """The token with its payload changed and its original signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(_unb64(payload)) | changes
    return f"{header}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}.{signature}"


def _forgeries(genuine: str) -> dict[str, str]:
    """Tokens an attacker can make from a genuine one and the provider's public keys; each must be refused."""
    header_part, payload_part, signature = genuine.split(".")
    header = json.loads(_unb64(header_part))
    claims = json.loads(_unb64(payload_part))
    kid = header.get("kid")
    own_key = RSAKey.generate_key(2048)
    jwks = httpx.get(f"{_env('OIDC_ISSUER')}/protocol/openid-connect/certs", timeout=10).json()
    published = next(k for k in jwks["keys"] if k.get("kid") == kid)
    public_pem = RSAKey.import_key(published).as_pem(private=False)
    now = int(time.time())
    unsigned = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode()) + "." + payload_part
    hs_signed = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()) + "." + payload_part
    hs_signature = _b64(hmac.new(public_pem, hs_signed.encode(), hashlib.sha256).digest())
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    return {
        "role raised to admin, signature kept": _with_claims(genuine, crp_role="admin"),
        "municipality changed, signature kept": _with_claims(genuine, crp_role="municipality", municipality="0326"),
        "expiry a day later, signature kept": _with_claims(genuine, exp=now + 86400),
        "one character of the signature changed": f"{header_part}.{payload_part}.{flipped}",
        "no signature": f"{header_part}.{payload_part}.",
        "alg none": unsigned + ".",
        "HS256 keyed with the provider's public key": f"{hs_signed}.{hs_signature}",
        "signed with another RSA key under the provider's kid": jwt.encode(
            {"alg": "RS256", "typ": "JWT", "kid": kid}, claims | {"crp_role": "admin"}, own_key
        ),
        "another RSA key, another kid": jwt.encode({"alg": "RS256", "kid": "forged"}, claims, own_key),
        "another audience (own key)": jwt.encode({"alg": "RS256", "kid": kid}, claims | {"aud": "other"}, own_key),
        "another issuer (own key)": jwt.encode(
            {"alg": "RS256", "kid": kid}, claims | {"iss": "http://127.0.0.1:1/realms/bekymring"}, own_key
        ),
        "expired (own key)": jwt.encode(
            {"alg": "RS256", "kid": kid}, claims | {"exp": now - 3600, "iat": now - 7200}, own_key
        ),
    }


SERVICE_CALLS = {
    "intake": "/v1/departments",
    "routing": "/v1/referrals",
    "notify": "/v1/subscriptions",
    "stats": "/v1/stats/overview",
}


async def test_forged_and_tampered_jwts_are_refused_by_every_service() -> None:
    genuine = await access_token("konsulent")
    forgeries = _forgeries(genuine)
    refused_wrongly: list[str] = []
    async with httpx.AsyncClient(timeout=20) as api:
        for service, path in SERVICE_CALLS.items():
            url = f"{_env(f'{service.upper()}_URL')}{path}"
            control = await api.get(url, headers={"Authorization": f"Bearer {genuine}"})
            assert control.status_code != 401, f"{service} refuses the genuine token: {control.text[:200]}"
            for what, token in forgeries.items():
                answer = await api.get(url, headers={"Authorization": f"Bearer {token}"})
                if answer.status_code != 401:
                    refused_wrongly.append(f"{service} {path}: {what} -> {answer.status_code}")
    assert not refused_wrongly, "forged or tampered tokens not refused with 401:\n" + "\n".join(refused_wrongly)


# -- CSRF ------------------------------------------------------------------------------------------------------------


async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(chromium: Browser, login) -> None:
    concern = await report_concern(department="holbaek-1", categories=["noise"], resident_name="Csrf Beboer")
    consultant = one(await referrals_of(concern["id"], targets={"consultant"}), "consultant")
    path = f"/arbejdsliste/{consultant['referral_id']}/flyt"
    other_context, other_page = await _person(chromium, login, "konsulent")
    try:
        others_token = await _csrf(other_page)
    finally:
        await other_context.close()
    context, page = await _person(chromium, login, "konsulent")
    try:
        own = await _csrf(page)
        assert own != others_token, "two sessions share a CSRF token"
        for what, form in {
            "no token": {"to": "received"},
            "an empty token": {"csrf_token": "", "to": "received"},
            "a wrong token": {"csrf_token": own[:-1] + ("A" if own[-1] != "A" else "B"), "to": "received"},
            "another session's token": {"csrf_token": others_token, "to": "received"},
        }.items():
            answer = await _post(page, path, form)
            assert answer.status == 403, f"a move with {what} answered {answer.status}"
            assert "Formularen blev afvist" in await answer.text()
        assert (await referral(consultant["referral_id"]))["status"] == "requested", "a refused POST moved it"
        for form_path, form in {
            "/auth/logout": {},
            "/bekymringer/ny": {"department_id": "holbaek-1", "categories": "noise", "severity": "low"},
        }.items():
            answer = await _post(page, form_path, form)
            assert answer.status == 403, f"POST {form_path} without the token answered {answer.status}"
        assert (await _get(page, "/arbejdsliste")).status == 200, "a logout without the token ended the session"
        # The control: the same move with the session's token is done.
        answer = await _post(page, path, {"csrf_token": own, "to": "received"})
        assert answer.status == 303, f"the move with the right token answered {answer.status}"
        assert (await referral(consultant["referral_id"]))["status"] == "received"
    finally:
        await context.close()


# -- headers and cookies ---------------------------------------------------------------------------------------------


def _csp_problems(path: str, headers: dict[str, str]) -> list[str]:
    csp = headers.get("content-security-policy")
    if not csp:
        return [f"{path}: no Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}
    problems = []
    if "'unsafe-inline'" in csp or "'unsafe-eval'" in csp:
        problems.append(f"{path}: CSP allows unsafe-inline or unsafe-eval: {csp}")
    for name in ("default-src", "script-src", "frame-ancestors", "object-src", "base-uri"):
        if name not in directives:
            problems.append(f"{path}: CSP has no {name}: {csp}")
    for source in directives.get("script-src", []) + directives.get("default-src", []):
        if source in ("*", "data:", "http:", "https:"):
            problems.append(f"{path}: CSP lets scripts come from {source}")
    if directives.get("frame-ancestors") not in (["'none'"], ["'self'"]):
        problems.append(f"{path}: frame-ancestors {directives.get('frame-ancestors')}")
    if headers.get("x-content-type-options") != "nosniff":
        problems.append(f"{path}: no X-Content-Type-Options: nosniff")
    return problems


INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style[\s>]", re.IGNORECASE)


async def test_every_answer_carries_a_csp_without_unsafe_inline_and_no_page_needs_one(
    page: Page, login, portal_url: str
) -> None:
    problems: list[str] = []
    anonymous = await page.request.get(f"{portal_url}/", max_redirects=0)
    problems += _csp_problems("/ (logged out)", anonymous.headers)
    redirect = await page.request.get(f"{portal_url}/arbejdsliste", max_redirects=0)
    problems += _csp_problems("/arbejdsliste (logged out, redirect)", redirect.headers)
    await login(page, "konsulent")
    for path in ("/", "/bekymringer/ny", "/arbejdsliste", "/bekymringer", "/foelg", "/indbakke", "/findes-ikke",
                 "/static/portal.css", "/static/portal.js", "/health/ready"):  # fmt: skip
        answer = await page.request.get(f"{portal_url}{path}", max_redirects=0)
        problems += _csp_problems(path, answer.headers)
        if answer.headers.get("content-type", "").startswith("text/html"):
            if found := INLINE.findall(await answer.text()):
                problems.append(f"{path}: inline script or style the CSP would block: {found[:3]}")
            if "no-store" not in answer.headers.get("cache-control", ""):
                problems.append(f"{path}: a page without Cache-Control: no-store")
    posted = await page.request.post(f"{portal_url}/auth/logout", form={}, max_redirects=0)
    problems += _csp_problems("POST /auth/logout (403)", posted.headers)
    assert not problems, "\n".join(problems)


def _cookie_problems(header: str) -> list[str]:
    problems = []
    for line in header.split("\n"):
        name = line.split("=", 1)[0].strip()
        attributes = {a.strip().split("=")[0].lower(): a.strip() for a in line.split(";")[1:]}
        expired = "max-age=0" in line.lower() or "expires=thu, 01 jan 1970" in line.lower()
        if "httponly" not in attributes and not expired:
            problems.append(f"{name}: not HttpOnly")
        if attributes.get("samesite", "").lower() not in ("samesite=lax", "samesite=strict") and not expired:
            problems.append(f"{name}: SameSite {attributes.get('samesite', 'missing')}")
        if "domain" in attributes:
            problems.append(f"{name}: a Domain attribute widens it to other hosts")
        if _env("PORTAL_URL").startswith("https:") and "secure" not in attributes:
            problems.append(f"{name}: not Secure over https")
    return problems


async def test_the_session_cookies_are_httponly_and_samesite(page: Page, login, portal_url: str) -> None:
    set_cookies: list[tuple[str, str]] = []

    async def keep(response) -> None:  # noqa: ANN001 - a Playwright Response
        if response.url.startswith(portal_url) and (value := await response.header_value("set-cookie")):
            set_cookies.append((response.url, value))

    page.on("response", keep)
    await login(page, "konsulent")
    await page.wait_for_timeout(200)
    names = {line.split("=", 1)[0] for _, header in set_cookies for line in header.split("\n")}
    assert {"portal_login", COOKIE} <= names, f"the login set no session cookies: {names}"
    problems = [f"{url}: {p}" for url, header in set_cookies for p in _cookie_problems(header)]
    assert not problems, "\n".join(problems)
    stored = {c["name"]: c for c in await page.context.cookies(portal_url)}
    assert stored[COOKIE]["httpOnly"] and stored[COOKIE]["sameSite"] in ("Lax", "Strict")
    assert await page.evaluate("() => document.cookie") == "", "a script on the page can read a cookie"


# -- the planted resident name -----------------------------------------------------------------------------------


async def _served_to(chromium: Browser, login, user: str, paths: list[str]) -> Served:  # noqa: ANN001
    """Every answer the portal serves `user` while they open `paths` (after their login)."""
    context, page = await _person(chromium, login, user)
    try:
        served = await Served.watch(context, _env("PORTAL_URL"))
        for path in paths:
            await page.goto(f"{_env('PORTAL_URL')}{path}")
            await page.wait_for_load_state("load")
        assert len(served.answers) >= len(paths)
        return served
    finally:
        await context.close()


async def test_a_planted_resident_name_reaches_only_those_with_a_legal_basis(chromium: Browser, login) -> None:
    """A mental-health concern without consent: the municipality gets an anonymous consultation and the consultant
    the task of asking for consent, with no personal details; a loneliness concern goes to the association, which
    never sees personal details. Their names are in none of the answers the portal serves those people, nor those
    of the other municipality. The control: a rent-arrears concern, where the statutory duty is the municipality's
    legal basis, shows its planted name to the municipality on the same pages."""
    planted = f"Plantet Beboersen {uuid.uuid4().hex[:10]}"
    lonely_name = f"Plantet Ensomsen {uuid.uuid4().hex[:10]}"
    duty_name = f"Plantet Lovpligtsen {uuid.uuid4().hex[:10]}"
    concern = await report_concern(department="holbaek-1", categories=["mental_health"], resident_name=planted)
    lonely = await report_concern(department="holbaek-1", categories=["loneliness"], resident_name=lonely_name)
    duty = await report_concern(department="holbaek-1", categories=["rent_arrears"], resident_name=duty_name)
    referrals = await referrals_of(concern["id"], targets={"consultant", "municipality"})
    municipality, consultant = one(referrals, "municipality"), one(referrals, "consultant")
    association = one(await referrals_of(lonely["id"], targets={"association"}), "association")
    with_duty = one(await referrals_of(duty["id"], targets={"municipality"}), "municipality")
    assert municipality["disclosure"] != "full", f"the municipality got full details without consent: {municipality}"
    assert with_duty["legal_basis"] == "statutory_duty" and with_duty["disclosure"] == "full", with_duty

    municipal = await _served_to(
        chromium,
        login,
        "kommune-0316",
        [
            "/",
            "/indbakke",
            "/indbakke?vis=alle",
            f"/indbakke/{municipality['referral_id']}",
            f"/indbakke/{with_duty['referral_id']}",
        ],
    )
    assert not municipal.containing(planted), f"0316 saw the name before consent: {municipal.containing(planted)}"
    assert municipal.containing(duty_name), "0316 does not see the resident's name where the statutory duty allows"
    other = await _served_to(
        chromium, login, "kommune-0326", ["/indbakke?vis=alle", f"/indbakke/{with_duty['referral_id']}"]
    )
    for name in (planted, duty_name):
        assert not other.containing(name), f"0326 saw 0316's resident: {other.containing(name)}"
    volunteer = await _served_to(
        chromium,
        login,
        "frivillig",
        ["/", "/arbejdsliste", "/arbejdsliste?vis=alle", f"/arbejdsliste/{association['referral_id']}"],
    )
    for name in (planted, lonely_name, duty_name):
        assert not volunteer.containing(name), f"the association saw a resident's name: {volunteer.containing(name)}"
    consultant_pages = await _served_to(
        chromium, login, "konsulent", ["/arbejdsliste?vis=alle", f"/arbejdsliste/{consultant['referral_id']}"]
    )
    assert consultant["disclosure"] == "no_personal_details", consultant
    assert not consultant_pages.containing(planted), "the consultant without a legal basis saw the resident's name"
    reporter = await _served_to(chromium, login, "vicevaert", ["/", "/bekymringer"])
    for name in (planted, lonely_name, duty_name):
        assert not reporter.containing(name), f"a name on the caretaker's own pages: {reporter.containing(name)}"


async def test_once_the_consultant_registers_consent_the_municipality_sees_the_name(chromium: Browser, login) -> None:
    planted = f"Plantet Samtykkesen {uuid.uuid4().hex[:10]}"
    # A plain description: one that reads as a danger hint makes triage ask the consultant to call instead.
    concern = await report_concern(
        department="holbaek-1",
        categories=["mental_health"],
        resident_name=planted,
        description="Portaltest: en opdigtet bekymring, meldt af testen.",
    )
    referrals = await referrals_of(concern["id"], targets={"consultant", "municipality"})
    municipality, consultant = one(referrals, "municipality"), one(referrals, "consultant")
    assert consultant["task"] == "obtain_consent", consultant
    before = await _served_to(chromium, login, "kommune-0316", [f"/indbakke/{municipality['referral_id']}"])
    assert not before.containing(planted), "the municipality saw the resident's name before any consent"
    context, page = await _person(chromium, login, "konsulent")
    try:
        await page.goto(f"{_env('PORTAL_URL')}/arbejdsliste/{consultant['referral_id']}")
        await page.locator("#handling-received").get_by_role("button").click()
        await expect(page.get_by_role("status")).to_be_visible()
        consent_form = page.locator(f'form[action$="/{consultant["referral_id"]}/samtykke"]')
        await consent_form.get_by_label(re.compile("^Beboeren giver samtykke")).check()
        await consent_form.get_by_role("button").click()
        await expect(page.get_by_role("status")).to_contain_text("samtykke er registreret", timeout=10_000)
    finally:
        await context.close()
    after = await _served_to(chromium, login, "kommune-0316", [f"/indbakke/{municipality['referral_id']}"])
    assert after.containing(planted), "after the consent the municipality still does not see the resident's name"
