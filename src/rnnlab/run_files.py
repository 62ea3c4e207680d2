"""Names of the files in a run dir that more than one module reads or writes (no torch import: the CLI checks a
resume before it loads torch)."""

LAST, BEST = "last.pt", "best.pt"  # the latest state of training (resume) and the best validation weights
HYDRA_DIR, REPORT, LOCK = ".hydra", "report.json", ".rnnlab.lock"
