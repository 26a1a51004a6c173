"""Evaluation: the synthesis of the test set and its metrics (``evaluate``; the metric
functions and the one metric table live in ``fss.metrics``), recognition (``recognition``,
Table 7), the ablation-step statistics (``ablation_tests``) and CI's metric gate
(``metric_gate``). Import from the module (``fss.evaluation.evaluate``), so that a light
one (the gate, the ablation tests) does not pull in torch."""
