"""vbt benchmark harness (issue #5), split into three parts:

- harness: processes, timing, CPU/RSS measurement, the work dir, cleanup, tool checks;
- scenarios: what is measured (vbt modes, nginx+curl, md5sum, iperf3, reingest, small files);
- report: ratios to the baselines, the targets, the table and the JSON.

`cli.main` ties them together; benches/run.py is the entry point. Stdlib only.
"""
