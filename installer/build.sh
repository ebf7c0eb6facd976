#!/usr/bin/env bash
# Build Earmark's standalone classifying app (no torch) into dist/earmark/ with PyInstaller.
#
#   installer/build.sh [--models DIR] [--dist DIR] [--work DIR] [--no-self-test]
#
#   --models DIR     bundle DIR/*.onnx as the shipped models (default: models_onnx/)
#   --dist DIR       where the app folder goes (default: dist; the app is DIR/earmark/)
#   --work DIR       PyInstaller's scratch folder (default: build/pyinstaller)
#   --no-self-test   do not run the frozen app's --self-test after building
#
# Installs PyInstaller into the Python it uses ($PYTHON, default .venv/bin/python) when missing,
# prints the unpacked size and its biggest parts, then runs `earmark --self-test` headless.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

PYINSTALLER_SPEC=${PYINSTALLER_SPEC:-"pyinstaller>=6.10,<7"}
models=$root/models_onnx dist=$root/dist work=$root/build/pyinstaller self_test=1
while [ $# -gt 0 ]; do  # paths given here are relative to where build.sh was started
  case "$1" in
    --models) models=$(realpath -m "$2"); shift 2 ;;
    --dist) dist=$(realpath -m "$2"); shift 2 ;;
    --work) work=$(realpath -m "$2"); shift 2 ;;
    --no-self-test) self_test=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
PYTHON=${PYTHON:-$root/.venv/bin/python}
cd "$root"

if [ ! -x "$PYTHON" ]; then
  echo "build.sh: no Python at $PYTHON; run ./earmark once to make .venv, or set PYTHON" >&2
  exit 2
fi
if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
  echo "build.sh: installing $PYINSTALLER_SPEC into $PYTHON"
  "$PYTHON" -m pip install --quiet "$PYINSTALLER_SPEC"
fi
if ! ls "$models"/*.onnx >/dev/null 2>&1; then
  echo "build.sh: warning: no *.onnx in $models; the app will start without a shipped model" >&2
fi

start_s=$(date +%s)
EARMARK_MODELS_DIR=$models "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$dist" --workpath "$work" installer/earmark.spec
app="$dist/earmark"
cp installer/earmark.desktop installer/install_linux.sh "$app/"
echo "build.sh: built $app in $(( $(date +%s) - start_s )) s; unpacked size $(du -sh "$app" | cut -f1)"
echo "build.sh: biggest parts:"
# awk stops printing rather than reading (head would close the pipe and, under pipefail, fail the build)
du -s "$app"/_internal/* | sort -rn | awk 'NR <= 12 {printf "  %6.1f MB  %s\n", $1 / 1024, $2}'

if [ "$self_test" = 1 ]; then
  env -u EARMARK_BUNDLED_MODELS "$app/earmark" --self-test
fi
