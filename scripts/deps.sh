#!/bin/sh
# Installs the Debian packages the build and tests need, only those missing.
# chromium (large: a few hundred MB with its libraries) renders the --html
# page in tests/test_html.c; without it that test is skipped with a notice.
set -eu
PKGS="make gcc tmux libcjson-dev libyaml-dev libncurses-dev libcmocka-dev clang-14 libclang-rt-14-dev libomp-14-dev python3-jsonschema libxml2-utils util-linux libunistring-dev libpcre2-dev libssl-dev time chromium"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086 # a list of package names on purpose
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
