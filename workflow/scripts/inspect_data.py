"""Rule inspect_data: the summary text, a figure of a few samples and the coverage figure."""

from pathlib import Path

from glacier.coverage import coverage_figure
from glacier.dataset import open_store, sample_figure, summary

sm = snakemake  # noqa: F821
data = open_store(sm.input[0])
Path(sm.output.summary).write_text(summary(data) + "\n")
sample_figure(data, sm.output.figure)
coverage_figure(data, sm.output.coverage)
