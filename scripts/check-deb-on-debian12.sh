#!/usr/bin/env bash
# Install dist/medpos_<version>_all.deb on a fresh Debian 12 (a debootstrap minbase chroot) and
# start the hub and the terminal from it, as docs/operations.md "Installing" says. Needs root,
# debootstrap and the network (Debian's mirror; PyPI for the postinst's venv). Not part of
# `make test`: it downloads about 400 MB and takes 10 to 15 minutes.
#
#   scripts/check-deb-on-debian12.sh DEB [CHROOT_DIR]
#
# A site behind a TLS-inspecting proxy: CA_BUNDLE=/path/to/bundle.crt hands pip that bundle.
set -euo pipefail
deb=$(readlink -f "${1:?usage: check-deb-on-debian12.sh DEB [CHROOT_DIR]}")
root=${2:-/tmp/medpos-debian12}
mirror=${MIRROR:-http://deb.debian.org/debian}
[ -x "$root/bin/sh" ] || debootstrap --variant=minbase bookworm "$root" "$mirror"
cleanup() { umount "$root/proc" "$root/dev" 2>/dev/null || true; }
trap cleanup EXIT
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"  # no daemons started in a chroot
chmod +x "$root/usr/sbin/policy-rc.d"
cp "$deb" "$root/root/medpos.deb"
cert=()
if [ -n "${CA_BUNDLE:-}" ]; then
    cp "$CA_BUNDLE" "$root/root/ca.crt"
    cert=(PIP_CERT=/root/ca.crt)
fi
in_root() {
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        DEBIAN_FRONTEND=noninteractive "${cert[@]}" /bin/sh -c "$1"
}
in_root 'apt-get update -q && apt-get install -y -q /root/medpos.deb'
in_root 'medpos --version'
# the hub as root, the terminal as the package's user on its /etc/medpos/config.toml
in_root '
    cd /tmp
    medpos hub serve --db /tmp/hub.db --port 18765 > /tmp/hub.log 2>&1 & hub=$!
    su -s /bin/sh medpos -c "medpos serve --port 18766" > /tmp/terminal.log 2>&1 & term=$!
    ok=0
    for url in http://127.0.0.1:18765/health http://127.0.0.1:18766/api/status; do
        for i in $(seq 1 90); do
            if python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1])" "$url" \
                2>/dev/null; then
                echo "answers: $url"; ok=$((ok + 1)); break
            fi
            sleep 1
        done
    done
    kill $hub $term
    [ $ok = 2 ] || { tail -20 /tmp/hub.log /tmp/terminal.log; exit 1; }
    ls -l /var/lib/medpos
'
echo "medpos installs and starts on Debian 12"
