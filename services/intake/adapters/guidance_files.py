"""Reading the guidance files (services/intake/guidance/<category>.yaml)."""

from pathlib import Path

import yaml

from services.intake.domain.guidance import Guidance
from shared.contracts.vocabulary import Category


def load_guidance(directory: Path) -> dict[Category, Guidance]:
    """Every category's guidance; ValueError when a category has no file or a file does not fit its name."""
    library: dict[Category, Guidance] = {}
    for category in Category:
        path = directory / f"{category.value}.yaml"
        if not path.is_file():
            raise ValueError(f"no guidance for {category.value}: {path} is missing")
        guidance = Guidance.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        if guidance.category is not category:
            raise ValueError(f"{path.name} holds guidance for {guidance.category.value}")
        library[category] = guidance
    return library
