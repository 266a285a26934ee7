#!/usr/bin/env bash
# Starts two libvirt "hosts" on this machine for reconf's real-daemon tests (tests/live_qemu.rs)
# and for trying `reconf live` by hand: the system libvirtd (root, qemu:///system) and a session
# libvirtd of an ordinary user (its own host UUID), both running QEMU with TCG (no KVM needed).
# Debian 12 without systemd, as root. Loopback only: migrations go over tcp://127.0.0.1.
#
#   scripts/libvirt-up.sh [--install]   # --install: apt-get the packages first
#   . /tmp/reconf-libvirt/env           # exports RECONF_LIBVIRT_URIS (two URIs, space separated)
#   scripts/libvirt-down.sh             # stops what this started, by its pid files
#
# Everything it starts is recorded in $STATE (pid files), and only that is stopped.
set -euo pipefail
STATE=${RECONF_LIBVIRT_STATE:-/tmp/reconf-libvirt}
LVUSER=${RECONF_LIBVIRT_USER:-reconf-lv}
if [[ ${1:-} == --install ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Not libvirt-daemon-system: it pulls in systemd.
    apt-get install -y -qq --no-install-recommends pkg-config libvirt-dev libvirt-clients \
        libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 binutils >/dev/null
fi
[[ $(id -u) == 0 ]] || { echo "libvirt-up: must run as root" >&2; exit 1; }
mkdir -p "$STATE" /var/log/libvirt /run/libvirt
chmod 755 "$STATE"

# The fault tests' guest (tests/data/libvirt/dirty-guest.S): a multiboot kernel QEMU boots with
# -kernel, readable by both daemons' users.
GUEST_SRC="$(dirname "$0")/../tests/data/libvirt/dirty-guest.S"
if [[ -f $GUEST_SRC ]]; then
    as --32 -o "$STATE/dirty-guest.o" "$GUEST_SRC"
    ld -m elf_i386 -Ttext 0x100000 --build-id=none -nostdlib -static \
        -o "$STATE/dirty-guest.elf" "$STATE/dirty-guest.o"
    chmod 644 "$STATE/dirty-guest.elf"
fi
# qemu.conf names its user even when it is root; the package's user may be missing here.
id libvirt-qemu >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin libvirt-qemu
id "$LVUSER" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$LVUSER"
LVHOME=$(getent passwd "$LVUSER" | cut -d: -f6)

# Host 0: the system daemon.
cat > /etc/libvirt/qemu.conf <<'CONF'
user = "root"
group = "root"
security_driver = "none"
CONF
cat > "$STATE/libvirtd.conf" <<'CONF'
host_uuid = "5ec0f1ee-0000-4000-8000-000000000001"
listen_tcp = 0
listen_tls = 0
CONF
if ! [[ -f "$STATE/virtlogd.pid" ]] || ! kill -0 "$(cat "$STATE/virtlogd.pid")" 2>/dev/null; then
    virtlogd -d -p "$STATE/virtlogd.pid"
fi
if ! [[ -f "$STATE/libvirtd.pid" ]] || ! kill -0 "$(cat "$STATE/libvirtd.pid")" 2>/dev/null; then
    libvirtd -d -f "$STATE/libvirtd.conf" -p "$STATE/libvirtd.pid"
fi

# Host 1: a session daemon of $LVUSER, with its own host UUID and QEMU logging to files.
su "$LVUSER" -s /bin/sh -c "mkdir -p ~/.config/libvirt ~/.cache/libvirt"
su "$LVUSER" -s /bin/sh -c "cat > ~/.config/libvirt/libvirtd.conf" <<'CONF'
host_uuid = "5ec0f1ee-0000-4000-8000-000000000002"
CONF
su "$LVUSER" -s /bin/sh -c "cat > ~/.config/libvirt/qemu.conf" <<'CONF'
stdio_handler = "file"
CONF
SESSION_PID="$LVHOME/.cache/libvirt/libvirtd.pid"
if ! [[ -f "$SESSION_PID" ]] || ! kill -0 "$(cat "$SESSION_PID")" 2>/dev/null; then
    su "$LVUSER" -s /bin/sh -c "unset XDG_RUNTIME_DIR; libvirtd -d -p $SESSION_PID"
fi
ln -sf "$SESSION_PID" "$STATE/session-libvirtd.pid"

URI0="qemu:///system"
URI1="qemu+unix:///session?socket=$LVHOME/.cache/libvirt/libvirt-sock"
for i in $(seq 1 50); do
    virsh -c "$URI0" version >/dev/null 2>&1 && virsh -c "$URI1" version >/dev/null 2>&1 && break
    sleep 0.2
done
virsh -c "$URI0" version >/dev/null || { echo "libvirt-up: system daemon does not answer" >&2; exit 1; }
virsh -c "$URI1" version >/dev/null || { echo "libvirt-up: session daemon does not answer" >&2; exit 1; }
echo "export RECONF_LIBVIRT_URIS='$URI0 $URI1'" > "$STATE/env"
echo "libvirt-up: two hosts ready: $URI0 and ${URI1%%\?*} (see $STATE/env)"
