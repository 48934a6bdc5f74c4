"""The scenarios: what is measured, each as rows (Scenario) of samples."""
