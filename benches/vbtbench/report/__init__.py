"""The report: ratios to the baselines, the targets, the text table and the JSON."""
