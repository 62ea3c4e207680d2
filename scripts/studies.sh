# Sourced by scripts/reproduce.sh and scripts/compare_models.sh (`source scripts/studies.sh "$@"`): strict bash, the
# repo root as the working dir, the commands ($RNNLAB, $REPORT), where studies go ($OUT), --quick for toy size, and
# `study NAME [overrides...]`: one sweep into $OUT/NAME, then rnnlab-report on it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RNNLAB=${RNNLAB:-.venv/bin/rnnlab}
REPORT=${REPORT:-.venv/bin/rnnlab-report}
OUT=${OUT:-outputs/studies}
toy=()
if [[ "${1:-}" == "--quick" ]]; then
  toy=(debug=tiny logger=none)
  OUT=${OUT}-quick
fi

study() {  # study NAME [overrides...]: one sweep (or run) into $OUT/NAME
  local name=$1; shift
  echo "== $name"
  "$RNNLAB" -m "experiment=$name" "hydra.sweep.dir=$OUT/$name" "${toy[@]}" "$@"
  "$REPORT" "$OUT/$name"
}
