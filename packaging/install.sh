#!/usr/bin/env bash
# Register TinyBERT Workbench with the desktop for the current user: a menu entry and its icon.
# Run it from the unpacked folder (it stays where it is; the entry points at it):
#     ./install.sh             install or update the entry
#     ./install.sh --uninstall remove the entry and the icons
set -euo pipefail

APP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
ENTRY="$DATA_HOME/applications/tinybert-workbench.desktop"
ICONS="$DATA_HOME/icons/hicolor"
ICON_SOURCE="$APP_DIR/_internal/resources/icons"
SIZES="16 22 24 32 48 64 128 256 512"

refresh() {
    # Desktops pick up new entries and icons sooner with these caches rebuilt; both tools are optional.
    command -v update-desktop-database >/dev/null && update-desktop-database -q "$DATA_HOME/applications" || true
    command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$ICONS" 2>/dev/null || true
}

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$ENTRY" "$ICONS/scalable/apps/tinybert-workbench.svg"
    for size in $SIZES; do rm -f "$ICONS/${size}x${size}/apps/tinybert-workbench.png"; done
    refresh
    echo "removed $ENTRY and its icons"
    exit 0
fi

if [ ! -x "$APP_DIR/tinybert-workbench" ]; then
    echo "install.sh: run me from the unpacked tinybert-workbench folder" >&2
    exit 1
fi
mkdir -p "$(dirname "$ENTRY")" "$ICONS/scalable/apps"
for size in $SIZES; do
    install -D -m 644 "$ICON_SOURCE/tinybert-workbench-$size.png" "$ICONS/${size}x${size}/apps/tinybert-workbench.png"
done
install -m 644 "$ICON_SOURCE/tinybert-workbench.svg" "$ICONS/scalable/apps/tinybert-workbench.svg"
# The folder may contain spaces; the desktop entry spec wants such an Exec path quoted.
sed "s|@APP_DIR@/tinybert-workbench|\"$APP_DIR/tinybert-workbench\"|" "$APP_DIR/tinybert-workbench.desktop" > "$ENTRY"
chmod 644 "$ENTRY"
refresh
echo "installed $ENTRY (TinyBERT Workbench in your applications menu)"
