#!/usr/bin/env bash
# Install the unpacked Earmark app for the current user: the app folder into
# ~/.local/opt/earmark, a launcher `earmark` into ~/.local/bin, the desktop entry and icon
# into ~/.local/share. Run it from the app folder (dist/earmark/); --uninstall removes them.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
prefix=${XDG_DATA_HOME:-$HOME/.local/share}
opt=$HOME/.local/opt/earmark
bin=$HOME/.local/bin

if [ "${1:-}" = "--uninstall" ]; then
  rm -rf "$opt" "$bin/earmark" "$prefix/applications/earmark.desktop" \
    "$prefix/icons/hicolor/256x256/apps/earmark.png" "$prefix/icons/hicolor/scalable/apps/earmark.svg"
  echo "Earmark removed (your models in ${XDG_DATA_HOME:-$HOME/.local/share}/Earmark are kept)"
  exit 0
fi
if [ ! -x "$src/earmark" ] || [ ! -d "$src/_internal" ]; then
  echo "install_linux.sh: run me from the built app folder (dist/earmark/)" >&2
  exit 2
fi
if [ "$src" != "$opt" ]; then
  rm -rf "$opt" && mkdir -p "$(dirname "$opt")" && cp -a "$src" "$opt"
fi
mkdir -p "$bin" "$prefix/applications" "$prefix/icons/hicolor/256x256/apps" "$prefix/icons/hicolor/scalable/apps"
ln -sf "$opt/earmark" "$bin/earmark"
install -m 644 "$opt/_internal/resources/icons/earmark.png" "$prefix/icons/hicolor/256x256/apps/earmark.png"
install -m 644 "$opt/_internal/resources/icons/earmark.svg" "$prefix/icons/hicolor/scalable/apps/earmark.svg"
sed "s|^Exec=.*|Exec=$opt/earmark|" "$opt/earmark.desktop" > "$prefix/applications/earmark.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$prefix/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$prefix/icons/hicolor" || true
echo "Earmark installed in $opt; start it from the applications menu or with $bin/earmark"
echo "Put your own models (*.onnx) into ${XDG_DATA_HOME:-$HOME/.local/share}/Earmark/models"
