"""Optional dependencies fail with the install command, and the core never imports them."""

import subprocess
import sys

import pytest

from digitrec.extras import EXTRA_OF_MODULE, MissingExtraError, require


def test_present_module_is_returned() -> None:
    assert require("json").dumps([1]) == "[1]"


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(EXTRA_OF_MODULE, "digitrec_absent_module", "serve")
    with pytest.raises(MissingExtraError, match=r'pip install "digitrec\[serve\]"'):
        require("digitrec_absent_module.sub")


def test_core_does_not_import_extras() -> None:
    code = (
        "import sys, digitrec, digitrec.data, digitrec.cli; "
        "print(sorted(m for m in ('fastapi', 'onnxruntime', 'matplotlib') if m in sys.modules))"
    )
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "[]"
