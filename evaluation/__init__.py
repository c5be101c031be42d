"""Evaluation of flow models against their references: fidelity metrics, per-glacier scores,
transient comparisons, speed and efficiency benchmarks, figures and the summary report."""
