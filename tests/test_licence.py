"""The project's licence and its notices: MIT for our code, credit for the third-party material
we ship (the MNIST sample, the UNIPEN strokes, Swagger UI), both in the sdist and the wheel."""

from __future__ import annotations

import tomllib

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_licence_is_mit_for_the_digits_authors() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 the digits authors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def test_notice_credits_every_third_party_material_we_ship() -> None:
    notice = (ROOT / "NOTICE").read_text(encoding="utf-8")
    expected = {
        "tests/data/mnist-sample/": ["Yann LeCun", "Corinna Cortes", "CC BY-SA 3.0"],
        "model/data/strokes/": ["UNIPEN", "Guyon", "CC BY 4.0", "model/data/strokes/LICENSE"],
        "static/vendor/swagger-ui/": ["swagger-ui-dist 5.35.0", "Apache License, Version 2.0"],
    }
    for folder, credits in expected.items():
        assert (ROOT / folder).is_dir(), folder
        assert folder in notice
        for credit in credits:
            assert credit in notice, credit
    # Apache-2.0 asks to pass the package's own NOTICE on.
    swagger_notice = (ROOT / "static/vendor/swagger-ui/NOTICE").read_text(encoding="utf-8")
    assert swagger_notice.splitlines()[1] in notice


def test_package_metadata_names_the_licence_and_ships_its_files() -> None:
    project = PYPROJECT["project"]
    assert project["license"] == "MIT"  # an SPDX expression (PEP 639)
    assert project["license-files"] == ["LICENSE", "NOTICE"]
    # PEP 639: the expression says it; a licence classifier beside it is an error.
    assert not [c for c in project.get("classifiers", []) if c.startswith("License ::")]
    sdist = PYPROJECT["tool"]["hatch"]["build"]["targets"]["sdist"]
    assert {"LICENSE", "NOTICE"} <= set(sdist["include"])
    # The first hatchling that reads PEP 639's license-files list.
    assert "hatchling>=1.27" in PYPROJECT["build-system"]["requires"]
