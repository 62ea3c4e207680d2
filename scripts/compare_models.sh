#!/usr/bin/env bash
# Which model is better: the tuned CPU comparisons (selective copy, MQAR, adding T=200), each model at 50,000
# parameters and its validation-chosen lr at 3 seeds, two jobs at a time (the joblib launcher), then rnnlab-report
# on each. 98 minutes on a quiet 2-core Zen 5 (selective copy 28 min, MQAR 23, adding 47; docs/results.md,
# "Two hours"); the equal-time sequential MNIST study is its own
# (experiment=compare_smnist_cpu, ~45 minutes), and compare_*_gpu are the full-size settings for a GPU.
#   scripts/compare_models.sh           # outputs/studies/compare_<task>/comparison.csv, report.md per job
#   scripts/compare_models.sh --quick   # toy size, to check that everything runs
source "$(dirname "$0")/studies.sh" "$@"
quiet=(logger=none)  # as timed; a toy run has it already
[[ ${#toy[@]} -gt 0 ]] && quiet=()
start=$(date +%s)
for name in compare_selective_copy compare_mqar compare_adding; do
  study "$name" hydra/launcher=joblib "${quiet[@]}"  # prints the comparison (rnnlab-report) at the end
  echo "   $(( ($(date +%s) - start) / 60 )) minutes so far; the comparison: $OUT/$name/summary.md"
done
