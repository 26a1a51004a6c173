"""Evaluation: the synthesis of the test set and its metrics (``evaluate``; the metric
functions and the one metric table live in ``fss.metrics``), recognition (``recognition``,
Table 7), the ablation-step statistics (``ablation_tests``) and CI's metric gate
(``metric_gate``).

``from fss.evaluation import read_test_pairs`` (the names of the former
``fss/evaluation.py``) still works: such names are looked up in ``evaluate`` when first
asked for, so importing a light module of this package (the gate, the ablation tests)
does not pull in torch."""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    evaluate = importlib.import_module("fss.evaluation.evaluate")
    try:
        return getattr(evaluate, name)
    except AttributeError:
        raise AttributeError(f"module 'fss.evaluation' has no attribute '{name}'") from None
