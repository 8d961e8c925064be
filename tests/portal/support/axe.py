"""axe-core from the npm registry, pinned and checked, cached per user, run by Playwright inside a portal page.

The tarball is fetched once into the user cache (`deploy.config.cache_dir()`, shared by every clone), checked
against the registry's published SHA-512 (the `dist.integrity` of the version), and its `axe.min.js` is kept beside
it, checked again by its own SHA-256 whenever it is read. The portal's CSP forbids inline scripts, so the source is
not added as a <script> tag: Playwright evaluates it in the page (a DevTools evaluation, which the page's CSP does
not govern), and the page keeps its CSP on while axe runs.
"""

import base64
import hashlib
import io
import os
import tarfile
import urllib.request
from functools import cache
from pathlib import Path

from tenacity import retry, stop_after_attempt, wait_exponential

from deploy.config import cache_dir

AXE_VERSION = "4.14.1"
AXE_URL = f"https://registry.npmjs.org/axe-core/-/axe-core-{AXE_VERSION}.tgz"
# The registry's dist.integrity for 4.14.1 (SHA-512 of the tarball, base64), and the SHA-256 of its axe.min.js.
AXE_TARBALL_SHA512 = "FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
AXE_JS_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
AXE_MEMBER = "package/axe.min.js"

# WCAG 2.0 and 2.1, levels A and AA: what the issue asks of every page.
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


class AxeFetchError(RuntimeError):
    """axe-core could not be fetched or did not match its pinned checksums."""


def axe_path() -> Path:
    """Where the checked axe.min.js lives in the user cache."""
    return cache_dir() / f"axe-core-{AXE_VERSION}" / "axe.min.js"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@retry(stop=stop_after_attempt(4), wait=wait_exponential(multiplier=1, max=10), reraise=True)
def _download(url: str = AXE_URL) -> bytes:
    """The tarball's bytes, checked against the pinned SHA-512 (a mismatch is retried, then raised)."""
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - a fixed https URL
        data = response.read()
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != AXE_TARBALL_SHA512:
        raise AxeFetchError(f"checksum mismatch for {url}: expected sha512-{AXE_TARBALL_SHA512}, got sha512-{actual}")
    return data


def _extract(tarball: bytes) -> bytes:
    """axe.min.js out of the npm tarball (read as a member, never extracted onto the disk by its own path)."""
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.getmember(AXE_MEMBER)
        handle = archive.extractfile(member)
        if handle is None:
            raise AxeFetchError(f"{AXE_MEMBER} is not a file in {AXE_URL}")
        source = handle.read()
    if _sha256(source) != AXE_JS_SHA256:
        raise AxeFetchError(f"{AXE_MEMBER} in {AXE_URL} does not match its pinned SHA-256")
    return source


def fetch_axe(target: Path | None = None) -> Path:
    """Make sure the checked axe.min.js is in the cache (downloading it when absent or damaged); its path."""
    target = target or axe_path()
    if target.is_file() and _sha256(target.read_bytes()) == AXE_JS_SHA256:
        return target
    source = _extract(_download())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        tmp.write_bytes(source)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


@cache
def axe_source() -> str:
    """The source of axe.min.js, fetched on first use."""
    return fetch_axe().read_text(encoding="utf-8")


_RUN = """async ([tags, types]) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: types});
  const brief = (v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target, html: n.html, summary: n.failureSummary})),
  });
  return {violations: result.violations.map(brief), incomplete: result.incomplete.map(brief)};
}"""


async def axe_results(page, tags: tuple[str, ...] = WCAG_TAGS) -> dict[str, list[dict]]:  # noqa: ANN001
    """axe's violations and its "needs review" results (incomplete) of `tags` on the page as it is now."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(axe_source())
    return await page.evaluate(_RUN, [list(tags), ["violations", "incomplete"]])


async def axe_violations(page, tags: tuple[str, ...] = WCAG_TAGS) -> list[dict]:  # noqa: ANN001 - a Playwright Page
    """axe's violations of `tags` on the page as it is now (axe injected when the page has none yet)."""
    return (await axe_results(page, tags))["violations"]


def describe(violations: list[dict]) -> str:
    """A readable list: one line per rule (id, impact, help, link), then each failing target and its summary."""
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"]:
            target = " ".join(" >>> ".join(t) if isinstance(t, list) else t for t in node["target"])
            summary = " / ".join(line.strip() for line in (node["summary"] or "").splitlines() if line.strip())
            lines.append(f"    at {target}: {node['html'][:160]}")
            if summary:
                lines.append(f"      {summary[:400]}")
    return "\n".join(lines)


async def assert_accessible(page, what: str) -> None:  # noqa: ANN001 - a Playwright Page
    """0 violations of WCAG 2.0/2.1 A and AA on the page, or a failure naming each rule, target and help."""
    violations = await axe_violations(page)
    assert not violations, f"{what} ({page.url}): {len(violations)} axe violation(s) at WCAG 2.1 AA\n" + describe(
        violations
    )
