"""What leaves a run for people: its setup in words and columns, report.md, figures, TensorBoard, and the tables and
plots of many runs (rnnlab-report).
"""
