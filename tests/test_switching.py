"""The interpreter switches threads briskly only while a job asks it to, however many do."""

from __future__ import annotations

import sys

import pytest

from service import switching


def test_brisk_while_any_job_holds_it_and_usual_after() -> None:
    usual = sys.getswitchinterval()
    with switching.brisk():
        assert sys.getswitchinterval() == pytest.approx(0.001)
        with switching.brisk():
            assert sys.getswitchinterval() == pytest.approx(0.001)
        assert sys.getswitchinterval() == pytest.approx(0.001)
    assert sys.getswitchinterval() == pytest.approx(usual)


def test_usual_again_after_a_job_fails() -> None:
    usual = sys.getswitchinterval()
    with pytest.raises(RuntimeError), switching.brisk():
        raise RuntimeError("import failed")
    assert sys.getswitchinterval() == pytest.approx(usual)
