# Sourced by the scripts: installs the Debian 12 packages cqhttp needs.
# cq_install_deps build|test|demo installs what is missing for that use,
# with apt-get as root; elsewhere it names what to install and fails.

CQ_DEPS_BUILD="build-essential autoconf automake libtool pkg-config
 libfcgi-dev libyajl-dev libcurl4-openssl-dev libssl-dev libevent-dev
 libwslay-dev"
CQ_DEPS_RUN="spawn-fcgi nginx-light curl socat"
# clang and its runtimes (only recommended by clang) build the fuzz targets.
CQ_DEPS_TEST="python3 python3-websockets python3-aiohttp apache2 libapache2-mod-fcgid
 clang libclang-rt-14-dev"

cq_install_deps() {
    local want="$CQ_DEPS_BUILD $CQ_DEPS_RUN" missing="" p
    [ "$1" = test ] && want="$want $CQ_DEPS_TEST"
    for p in $want; do
        # Any nginx flavour will do.
        [ "$p" = nginx-light ] && command -v nginx >/dev/null && continue
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
            missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages:$missing (run: sudo apt-get install$missing)" >&2
        return 1
    fi
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null &&
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
