import os
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
DSS = (ROOT/'..'/'shared'/'data'/'dss').resolve()

@pytest.fixture
def dss_root():
    "The paper's released data beside the repository; tests that need it skip with a message when it is absent."
    if not DSS.exists(): pytest.skip(f'{DSS} is absent: the paper-data tests need ../shared/data/dss')
    return DSS
