#!/bin/sh
# `medpos` from the Debian package: the code in /opt/medpos/lib, its dependencies in the virtual
# environment /opt/medpos/venv that the package's postinst made from requirements.lock. Paths are
# taken relative to this script, so an unpacked package tree runs too (its own code on the
# system's Python when it has no venv: enough for `medpos --version`).
set -e
here=$(dirname "$(readlink -f "$0")")
root=$(readlink -f "$here/../../opt/medpos")
# the package's configuration unless one is named (MEDPOS_CONFIG or --config, which wins): an
# operator's plain `medpos hub serve` reads /etc/medpos/config.toml, as the units do
conf=$(readlink -f "$root/../../etc/medpos/config.toml" || true)
if [ -z "${MEDPOS_CONFIG:-}" ] && [ -f "$conf" ]; then
    export MEDPOS_CONFIG="$conf"
fi
py="$root/venv/bin/python"
[ -x "$py" ] || py=python3
PYTHONPATH="$root/lib${PYTHONPATH:+:$PYTHONPATH}" exec "$py" -m terminal.cli "$@"
