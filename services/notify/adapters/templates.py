"""Danish e-mail texts from Jinja2 templates: the first line is the subject ("Emne: ..."), the rest the body."""

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
LABELS_FILE = Path(__file__).resolve().parents[1] / "data" / "labels_da.yaml"
COPENHAGEN = ZoneInfo("Europe/Copenhagen")
_MONTHS = "januar februar marts april maj juni juli august september oktober november december".split()  # noqa: SIM905
_SUBJECT = "Emne: "


def danish_time(value: str | datetime) -> str:
    """`4. marts 2025 kl. 09.30`, in Danish local time."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = when.astimezone(COPENHAGEN)
    return f"{local.day}. {_MONTHS[local.month - 1]} {local.year} kl. {local:%H.%M}"


class TemplateRenderer:
    """Renders a named template with a delivery's thin context into (subject, body)."""

    def __init__(self, templates_dir: Path = TEMPLATES_DIR, labels_file: Path = LABELS_FILE):
        self._labels: dict[str, dict[str, str]] = yaml.safe_load(labels_file.read_text(encoding="utf-8"))
        # Plain-text mail: no HTML escaping; StrictUndefined turns a missing field into an error, not a gap.
        self._env = Environment(
            loader=FileSystemLoader(templates_dir),
            autoescape=False,  # noqa: S701 - text/plain e-mail, never rendered as HTML
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
        self._env.filters["dato"] = danish_time
        self._env.filters["label"] = self._label
        self._env.filters["kategorier"] = lambda codes: ", ".join(self._label(c, "categories") for c in codes)

    def _label(self, code: str, vocabulary: str) -> str:
        return self._labels.get(vocabulary, {}).get(str(code), str(code))

    def render(self, template: str, context: dict[str, Any]) -> tuple[str, str]:
        """The subject line and the body text."""
        text = self._env.get_template(f"{template}.txt.j2").render(**context)
        first, _, body = text.partition("\n")
        if not first.startswith(_SUBJECT):
            raise ValueError(f"template {template} must start with '{_SUBJECT}'")
        return first.removeprefix(_SUBJECT).strip(), body.lstrip("\n")
