"""Experiments and results: the study's published numbers (published.py), the published experiments
(experiment.py; configs/experiments/*.yaml), the report (report.py, plots.py) and `lip2speech demo`
(demo.py, demo_real.py)."""

from .published import HEADLINE, PUBLISHED, pub_values

__all__ = ["HEADLINE", "PUBLISHED", "pub_values"]
