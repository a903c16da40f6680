"""Notebook 03 runs in tests/test_notebook_outputs.py, which also checks what it shows (its
chart); nbmake runs the others."""

collect_ignore = ["03-analytics-with-sql.ipynb"]
