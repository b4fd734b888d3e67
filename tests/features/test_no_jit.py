"""The features run without numba: nothing is compiled or loaded from a cache, and the values are
pandas-ta's.

Each check runs in its own interpreter, since an import can happen only once per process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from signaldesk.candles import read_candle_csv
from signaldesk.features import candles_to_frame, compute_features
from tests.conftest import DATA

ROOT = Path(__file__).resolve().parents[2]
BTC = DATA / "btcusdt_binance_15m_2025-04_2025-06.csv.gz"
FEATURES_OF_BTC = """
import json, sys
from pathlib import Path
IMPORTS
from signaldesk.candles import read_candle_csv
from signaldesk.features import candles_to_frame, compute_features
values = compute_features(candles_to_frame(read_candle_csv(Path(sys.argv[1]))))
print(json.dumps({"numba": "numba" in sys.modules, "values": values.to_numpy().tolist()}))
"""


def features_in_a_fresh_process(imports: str = "") -> dict:
    """Compute the bundled BTC features in a new interpreter; return them and if numba loaded."""
    done = subprocess.run(
        [sys.executable, "-c", FEATURES_OF_BTC.replace("IMPORTS", imports), str(BTC)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_computing_features_never_imports_numba():
    assert features_in_a_fresh_process()["numba"] is False


@pytest.mark.slow
def test_plain_kernels_give_pandas_ta_values_to_within_1e_15():
    compiled = features_in_a_fresh_process("import pandas_ta  # numba's compiled kernels")
    assert compiled["numba"] is True
    plain = compute_features(candles_to_frame(read_candle_csv(BTC))).to_numpy()
    reference = np.array(compiled["values"], dtype=float)
    assert np.array_equal(np.isnan(plain), np.isnan(reference))
    assert np.nanmax(np.abs(plain - reference)) <= 1e-15
