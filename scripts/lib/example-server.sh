# shellcheck shell=bash
# Starts and stops the example server (examples/server/) as a throwaway instance, for the
# scripts that drive it live (scripts/schemathesis, scripts/browser-test). Source it, then:
#
#   example_server_start NAME [server flags…]   builds it (--release when
#                                               EXAMPLE_SERVER_PROFILE=release), starts it on a free loopback port with
#                                               a temporary SQLite database and key file; sets
#                                               $server_base (http://127.0.0.1:PORT), $server_work,
#                                               $server_ssh_port (its SSH gateway, on loopback)
#   example_server_stop STATUS                  stops it and removes its containers, volumes and
#                                               networks; keeps $server_work and prints the log's
#                                               tail when STATUS is not 0
#
# The instance labels its containers vibebox.instance=NAME-PID (its reconciler touches no
# other container) and names them and their home volumes vibebox-NAME-PID-*.

server_pid=""
server_work=""
server_base=""
server_instance=""
server_ssh_port=""

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

example_server_start() {
    local name=$1
    shift
    local profile=${EXAMPLE_SERVER_PROFILE:-debug} flags=()
    [ "$profile" = release ] && flags=(--release)
    echo "==> building the example server ($profile)"
    cargo build --quiet "${flags[@]}" --example server --all-features
    server_work=$(mktemp -d "${TMPDIR:-/tmp}/vibebox-$name.XXXXXX")
    server_instance="$name-$$"
    local port
    port=$(free_port)
    server_ssh_port=$(free_port)
    server_base="http://127.0.0.1:$port"
    echo "==> starting the server on $server_base (containers named vibebox-$server_instance-*)"
    RUST_LOG="${RUST_LOG:-warn}" "target/$profile/examples/server" \
        --database "sqlite://$server_work/state.db" \
        --listen "127.0.0.1:$port" \
        --keys "$server_work/vibebox.keys" \
        --instance "$server_instance" \
        --ssh-listen "127.0.0.1:$server_ssh_port" \
        "$@" \
        >"$server_work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 300); do
        if curl -fsS "$server_base/healthz" >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$server_pid" 2>/dev/null || { echo "error: the server exited" >&2; return 1; }
        sleep 0.1
    done
    curl -fsS "$server_base/healthz" >/dev/null || { echo "error: the server did not become healthy" >&2; return 1; }
}

example_server_stop() {
    local status=$1
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -INT "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    [ -n "$server_instance" ] || return 0
    local prefix="vibebox-$server_instance-" containers volumes networks
    containers=$(docker ps -aq --filter "label=vibebox.instance=$server_instance" 2>/dev/null || true)
    if [ -n "$containers" ]; then
        # shellcheck disable=SC2086
        docker rm -f -v $containers >/dev/null 2>&1 || true
    fi
    volumes=$(docker volume ls -q --filter "name=^${prefix}" 2>/dev/null || true)
    if [ -n "$volumes" ]; then
        # shellcheck disable=SC2086
        docker volume rm -f $volumes >/dev/null 2>&1 || true
    fi
    networks=$(docker network ls -q --filter "label=vibebox.instance=$server_instance" 2>/dev/null || true)
    if [ -n "$networks" ]; then
        # shellcheck disable=SC2086
        docker network rm $networks >/dev/null 2>&1 || true
    fi
    if [ "$status" -ne 0 ] && [ -f "$server_work/server.log" ]; then
        echo "--- last lines of the server log ($server_work/server.log) ---" >&2
        tail -n 40 "$server_work/server.log" >&2 || true
    elif [ -n "$server_work" ]; then
        rm -rf "$server_work"
    fi
}
