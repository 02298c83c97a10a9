#!/bin/sh
# Installs Debian's chromium (browser tests), wrk (benchmarks), postgresql (the suite's and the
# benchmarks' PostgreSQL half: server binaries for a throwaway cluster, pg_dump/pg_restore),
# redis-server (the several-process tests' throwaway Redis), nginx (the deployment tests run the
# shipped config in front of Koppi) and openssl (their self-signed certificate) when missing.
# The tests start their own Redis and nginx on free loopback ports, so the packages' own services
# are kept from starting while they install (a busy port 80 would fail the install) and are
# disabled; one already running elsewhere does no harm. Without root or apt-get it only says
# what is missing; those tests then skip outside CI.
set -e
missing=""
services=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
    || missing="$missing postgresql"
if ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/bin/redis-server ]; then
    missing="$missing redis-server"
    services="$services redis-server"
fi
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    missing="$missing nginx"
    services="$services nginx"
fi
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    as_root=""
elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo"
else
    echo "note: please install the Debian packages:$missing (browser tests skip without chromium," >&2
    echo "      the PostgreSQL half of the suite without postgresql, the several-process tests" >&2
    echo "      without redis-server, the deployment tests without nginx and openssl)" >&2
    exit 0
fi
echo "installing Debian packages:$missing"
# policy-rc.d answering 101 ("not allowed") keeps invoke-rc.d and deb-systemd-invoke from
# starting the new services; one the machine already has is left as it is.
policy=""
if [ -n "$services" ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $as_root tee /usr/sbin/policy-rc.d >/dev/null
    $as_root chmod 755 /usr/sbin/policy-rc.d
    policy=yes
fi
status=0
$as_root apt-get update -qq || status=$?
if [ "$status" = 0 ]; then
    # shellcheck disable=SC2086
    $as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends $missing >/dev/null || status=$?
fi
[ -n "$policy" ] && $as_root rm -f /usr/sbin/policy-rc.d
# Only the services this run installed: a developer's own Redis or nginx stays as it was.
# Without systemd running (a container), `disable` still works offline and `service` stops.
for service in $services; do
    $as_root systemctl disable --now "$service" >/dev/null 2>&1 || {
        $as_root systemctl disable "$service" >/dev/null 2>&1
        $as_root service "$service" stop >/dev/null 2>&1
    } || true
done
exit "$status"
