"""The harness: how things run and are measured, independent of what is measured."""
