"""The command lines' tables wrap in a narrow terminal and cut nothing short (ids, tokens, paths stay whole)."""

import io
from pathlib import Path

import pytest

from deploy.config import StackConfig
from deploy.stack import _addresses
from shared.console import PIPE_WIDTH, make_console, table

pytestmark = pytest.mark.unit
TOKEN = "crp_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789" * 2


def rendered(renderable: object, width: int) -> list[str]:
    out = io.StringIO()
    make_console(file=out, width=width).print(renderable)
    return out.getvalue().splitlines()


def column(lines: list[str], index: int) -> str:
    """One column's text, its folded pieces joined (rules and header left out)."""
    return "".join(line.split("│")[index + 1].strip() for line in lines if line.startswith("│"))


@pytest.mark.parametrize("width", [40, 60, 80])
def test_a_table_folds_long_values_instead_of_cutting_them(width: int) -> None:
    rows = table("client_id", "name", "token")
    rows.add_row("cli_0123456789abcdef", "Holbæk Kommune, én indgang (socialpsykiatri og bostøtte)", TOKEN)
    lines = rendered(rows, width)
    assert max(map(len, lines)) <= width
    assert "…" not in "".join(lines)
    assert column(lines, 0) == "cli_0123456789abcdef"
    assert column(lines, 2) == TOKEN


def test_the_stack_summary_keeps_every_address_and_path_whole_in_a_narrow_terminal() -> None:
    cfg = StackConfig(home=Path("/home/someone/projects/concern-platform/checkouts/feature-branch/.local/test"))
    lines = rendered(_addresses(cfg, with_services=True), 60)
    assert max(map(len, lines)) <= 60
    text = "".join(lines)
    assert "…" not in text
    where = column(lines, 1)
    for path in (cfg.secrets_file, cfg.env_file, cfg.logs):
        assert str(path) in where


def test_output_into_a_pipe_is_not_bound_to_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert make_console(file=io.StringIO()).width == PIPE_WIDTH
    monkeypatch.setenv("COLUMNS", "100")
    assert make_console(file=io.StringIO()).width == 100
