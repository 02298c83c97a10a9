#!/bin/sh
# Installs Debian's chromium (browser tests), wrk (benchmarks) and postgresql (the suite's and the
# benchmarks' PostgreSQL half: server binaries for a throwaway cluster, pg_dump/pg_restore) when
# missing. Without root or apt-get it only says what is missing; those tests then skip outside CI.
set -e
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
    || missing="$missing postgresql"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq
    # shellcheck disable=SC2086
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
    echo "note: please install the Debian packages:$missing (browser tests skip without chromium," >&2
    echo "      the PostgreSQL half of the suite without postgresql)" >&2
fi
