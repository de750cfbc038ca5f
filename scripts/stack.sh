#!/usr/bin/env bash
# The local real stack without Docker: Temporal dev server, RocketMQ 5 (name server + broker in proxy)
# and MariaDB, installed from package registries, cached outside the repo, started on 127.0.0.1.
#
#   scripts/stack.sh up [mariadb|temporal|rocketmq ...] | down | status | logs [component] | reset
#   scripts/stack.sh stop|kill|start mariadb|temporal|namesrv|proxy|rocketmq | env | temporal-flags
#
# A second, isolated instance (fault injection kills and restarts its processes): every port moved by
# RMSG_STACK_PORT_OFFSET and its own state dir, the cached binaries reused; `env` prints its config.
#   RMSG_STACK_PORT_OFFSET=1000 RMSG_STACK_STATE=/tmp/rmsg-chaos-state scripts/stack.sh up
#
# Topics are created by the service (src/rocketmq/topics.ts), not here.
# Idempotent: `up` with everything running returns at once. `down` stops only the PIDs this script
# wrote. Everything lives under $RMSG_CACHE (default ~/.cache/reliable-message).
set -euo pipefail

CACHE="${RMSG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/reliable-message}"
STATE="${RMSG_STACK_STATE:-$CACHE/state}"
RUN="$STATE/run"
LOGS="$STATE/logs"

TEMPORAL_CLI_VERSION=1.5.1
TEMPORAL_BIN="$CACHE/temporal-cli-$TEMPORAL_CLI_VERSION/temporal"
ROCKETMQ_VERSION=5.3.3
ROCKETMQ_HOME="$CACHE/rocketmq-$ROCKETMQ_VERSION"
MARIADB_DATA="$STATE/mariadb"
MARIADB_SOCKET="$RUN/mariadb.sock"
export ROCKETMQ_HOME

DB_USER="${RMSG_DB_USER:-rmsg}"
DB_PASSWORD="${RMSG_DB_PASSWORD:-rmsg}"
DB_NAME="${RMSG_DB_NAME:-reliable_message}"
SEARCH_ATTRIBUTES=(MessageKey MessageTopic MessageStatus ProducerGroup)

OFFSET="${RMSG_STACK_PORT_OFFSET:-0}"
[[ "$OFFSET" =~ ^[0-9]+$ ]] || { echo "RMSG_STACK_PORT_OFFSET must be a non-negative integer, got '$OFFSET'" >&2; exit 1; }
MARIADB_PORT=$((3306 + OFFSET))
TEMPORAL_PORT=$((7233 + OFFSET))
TEMPORAL_UI_PORT=$((8233 + OFFSET))
NAMESRV_PORT=$((9876 + OFFSET))
BROKER_PORT=$((10911 + OFFSET))  # the broker also opens BROKER_PORT-2 (fast) and BROKER_PORT+1 (HA)
PROXY_GRPC_PORT=$((8081 + OFFSET))
PROXY_REMOTING_PORT=$((8080 + OFFSET))
# The default instance lets Temporal pick its HTTP and metrics ports; a moved one pins them too.
TEMPORAL_EXTRA_PORTS=()
if ((OFFSET > 0)); then
  TEMPORAL_EXTRA_PORTS=(--http-port $((7243 + OFFSET)) --metrics-port $((7253 + OFFSET)))
  # A moved port must not land on one of the default instance's (offset 1000 puts gRPC on its Web UI).
  for p in $MARIADB_PORT $TEMPORAL_PORT $TEMPORAL_UI_PORT $((7243 + OFFSET)) $((7253 + OFFSET)) $NAMESRV_PORT \
    $((BROKER_PORT - 2)) $BROKER_PORT $((BROKER_PORT + 1)) $PROXY_GRPC_PORT $PROXY_REMOTING_PORT; do
    case " 3306 7233 8233 9876 10909 10911 10912 8081 8080 " in
      *" $p "*) echo "RMSG_STACK_PORT_OFFSET=$OFFSET puts a port on $p, a port of the default instance" >&2; exit 1 ;;
    esac
  done
fi

mkdir -p "$RUN" "$LOGS"

log() { printf '[stack %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now_ms() { date +%s%3N; }
elapsed() { echo "$(( ($(now_ms) - $1) ))ms"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() {
  local file="$RUN/$1.pid"
  [[ -f "$file" ]] && kill -0 "$(cat "$file")" 2>/dev/null
}

# wait_for NAME SECONDS COMMAND...: polls COMMAND until it succeeds, the process dies, or time runs out.
wait_for() {
  local name=$1 seconds=$2; shift 2
  local deadline=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    pid_alive "$name" || { tail -n 30 "$LOGS/$name.log" >&2 || true; die "$name exited while starting (log: $LOGS/$name.log)"; }
    (( $(date +%s) < deadline )) || die "$name not ready after ${seconds}s (log: $LOGS/$name.log)"
    sleep 0.3
  done
}

# start_bg NAME COMMAND...: runs COMMAND detached, logging to $LOGS/NAME.log, PID to $RUN/NAME.pid.
start_bg() {
  local name=$1; shift
  # 9>&-: the daemon must not hold `up`'s lock (see below) for as long as it runs.
  nohup setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/$name.pid"
}

# ---------------------------------------------------------------- installs (cached, idempotent)

install_temporal() {
  [[ -x "$TEMPORAL_BIN" ]] && return
  command -v go >/dev/null || die "Go is required to build the Temporal CLI (go >= 1.25)"
  log "building Temporal CLI v$TEMPORAL_CLI_VERSION with go install (first time only; 5-15 min on 2 cores)..."
  local t0; t0=$(now_ms)
  mkdir -p "$CACHE/go"
  (
    export GOPATH="$CACHE/go" GOMODCACHE="$CACHE/go/pkg/mod" GOCACHE="$CACHE/go-build" \
      GOBIN="$(dirname "$TEMPORAL_BIN")" CGO_ENABLED=0 GOFLAGS=-mod=mod
    go install "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION" 2>&1 |
      while IFS= read -r line; do log "go: $line"; done
  )
  [[ -x "$TEMPORAL_BIN" ]] || die "go install did not produce $TEMPORAL_BIN"
  log "Temporal CLI built in $(elapsed "$t0")"
}

install_rocketmq() {
  [[ -f "$ROCKETMQ_HOME/lib/.complete" ]] && return
  command -v mvn >/dev/null || die "Maven is required to fetch RocketMQ jars"
  command -v java >/dev/null || die "Java (>= 11) is required to run RocketMQ"
  log "fetching RocketMQ $ROCKETMQ_VERSION jars from Maven Central (first time only)..."
  local t0; t0=$(now_ms)
  mkdir -p "$ROCKETMQ_HOME"
  cat >"$ROCKETMQ_HOME/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.reliable-message</groupId>
  <artifactId>rocketmq-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.rocketmq</groupId><artifactId>rocketmq-proxy</artifactId><version>$ROCKETMQ_VERSION</version></dependency>
    <dependency><groupId>org.apache.rocketmq</groupId><artifactId>rocketmq-namesrv</artifactId><version>$ROCKETMQ_VERSION</version></dependency>
    <dependency><groupId>org.apache.rocketmq</groupId><artifactId>rocketmq-tools</artifactId><version>$ROCKETMQ_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  (cd "$ROCKETMQ_HOME" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=lib) ||
    die "Maven could not fetch RocketMQ jars"
  touch "$ROCKETMQ_HOME/lib/.complete"
  log "RocketMQ jars fetched in $(elapsed "$t0")"
}

install_mariadb() {
  command -v mariadbd >/dev/null && return
  log "installing mariadb-server from Debian (first time only)..."
  local t0; t0=$(now_ms)
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq mariadb-server >/dev/null || die "apt-get install mariadb-server failed"
  log "mariadb-server installed in $(elapsed "$t0")"
}

# ---------------------------------------------------------------- MariaDB

mariadb_ready() { mariadb-admin --no-defaults --socket="$MARIADB_SOCKET" -uroot ping; }

up_mariadb() {
  if pid_alive mariadb; then wait_for mariadb 60 mariadb_ready; return; fi
  port_open "$MARIADB_PORT" && die "port $MARIADB_PORT is taken by a process this script did not start"
  local t0; t0=$(now_ms)
  if [[ ! -d "$MARIADB_DATA/mysql" ]]; then
    log "initialising MariaDB data directory"
    mkdir -p "$MARIADB_DATA"
    mariadb-install-db --no-defaults --user=root --datadir="$MARIADB_DATA" \
      --auth-root-authentication-method=socket --skip-test-db >"$LOGS/mariadb-install.log" 2>&1 ||
      die "mariadb-install-db failed (log: $LOGS/mariadb-install.log)"
  fi
  # Durability knobs relaxed for a dev/test server: the product's guarantees come from Temporal and
  # idempotent projections, not from fsync on this local database.
  start_bg mariadb mariadbd --no-defaults --user=root --datadir="$MARIADB_DATA" \
    --socket="$MARIADB_SOCKET" --pid-file="$RUN/mariadbd.pid" --bind-address=127.0.0.1 --port="$MARIADB_PORT" \
    --skip-name-resolve --max-connections=500 --innodb-buffer-pool-size=256M \
    --innodb-flush-log-at-trx-commit=2 --innodb-log-file-size=128M --character-set-server=utf8mb4 \
    --collation-server=utf8mb4_unicode_ci --transaction-isolation=READ-COMMITTED
  wait_for mariadb 60 mariadb_ready
  mariadb --no-defaults --socket="$MARIADB_SOCKET" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
-- the user creates databases of its own too: test databases and the example's business databases
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;
SQL
  log "MariaDB ready on 127.0.0.1:$MARIADB_PORT (db $DB_NAME, user $DB_USER) in $(elapsed "$t0")"
}

# ---------------------------------------------------------------- Temporal

# Output is captured before grepping: with pipefail, `cmd | grep -q` fails whenever grep exits
# early and cmd gets SIGPIPE.
temporal_ready() {
  local health attrs
  health=$("$TEMPORAL_BIN" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" 2>/dev/null) || return 1
  attrs=$("$TEMPORAL_BIN" operator search-attribute list --address "127.0.0.1:$TEMPORAL_PORT" --namespace default 2>/dev/null) || return 1
  [[ "$health" == *SERVING* && "$attrs" == *MessageStatus* ]]
}

TEMPORAL_DYNAMIC_CONFIG="$(cd "$(dirname "${BASH_SOURCE[0]}")/../docker/temporal" && pwd)/dynamic-config.yaml"

# docker/temporal/dynamic-config.yaml as the dev server's flags: `key:` lines, each followed by its
# `  - value: v` line.
temporal_dynamic_config_flags() {
  awk '/^[A-Za-z][A-Za-z0-9_.]*:[[:space:]]*$/ { key = substr($1, 1, length($1) - 1); next }
       key != "" && /^[[:space:]]*-[[:space:]]*value:/ { sub(/^[[:space:]]*-[[:space:]]*value:[[:space:]]*/, ""); print "--dynamic-config-value"; print key "=" $0; key = "" }' \
    "$TEMPORAL_DYNAMIC_CONFIG"
}

up_temporal() {
  if pid_alive temporal; then wait_for temporal 90 temporal_ready; return; fi
  port_open "$TEMPORAL_PORT" && die "port $TEMPORAL_PORT is taken by a process this script did not start"
  local t0; t0=$(now_ms)
  local attrs=() dynamic_config=()
  for a in "${SEARCH_ATTRIBUTES[@]}"; do attrs+=(--search-attribute "$a=Keyword"); done
  mapfile -t dynamic_config < <(temporal_dynamic_config_flags)
  start_bg temporal "$TEMPORAL_BIN" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" "${TEMPORAL_EXTRA_PORTS[@]}" \
    --namespace default "${attrs[@]}" "${dynamic_config[@]}" --db-filename "$STATE/temporal.db" \
    --sqlite-pragma journal_mode=WAL --sqlite-pragma synchronous=OFF --log-level warn
  wait_for temporal 90 temporal_ready
  log "Temporal ready on 127.0.0.1:$TEMPORAL_PORT, Web UI http://127.0.0.1:$TEMPORAL_UI_PORT in $(elapsed "$t0")"
}

# ---------------------------------------------------------------- RocketMQ

# java_rmq HEAP MAIN ARGS...: sets JAVA_CMD to the command line of one RocketMQ process
# (small heaps, not the stock 4-8 GB).
java_rmq() {
  local heap=$1; shift
  JAVA_CMD=(java -Xms"$heap" -Xmx"$heap" -XX:MaxDirectMemorySize=256m -XX:+UseG1GC \
    -Drocketmq.home.dir="$ROCKETMQ_HOME" -Duser.home="$STATE/rocketmq" -cp "$ROCKETMQ_HOME/lib/*" "$@")
}

log_has() { grep -q "$2" "$LOGS/$1.log"; }  # reads a file: no pipe, no SIGPIPE

# The broker's and proxy's settings have one home, docker/rocketmq/ (docker-compose.yml mounts it);
# this instance takes them with its own addresses, ports and store.
ROCKETMQ_CONF="$(cd "$(dirname "${BASH_SOURCE[0]}")/../docker/rocketmq" && pwd)"

# with_properties FILE KEY=VALUE...: FILE's settings (comments dropped) with these keys set.
with_properties() {
  local file=$1; shift
  local keys; keys=$(printf '%s\n' "$@" | cut -d= -f1 | paste -sd'|')
  grep -vE "^[[:space:]]*(#|\$)|^($keys)=" "$file"
  printf '%s\n' "$@"
}

# with_json FILE OBJECT: FILE's JSON object with OBJECT's keys set.
with_json() {
  node -e 'const [file, set] = process.argv.slice(1);
    const merged = { ...JSON.parse(require("node:fs").readFileSync(file, "utf8")), ...JSON.parse(set) };
    process.stdout.write(`${JSON.stringify(merged, null, 2)}\n`);' "$1" "$2"
}

up_rocketmq() {
  if pid_alive namesrv && pid_alive proxy && port_open "$PROXY_GRPC_PORT" && port_open "$NAMESRV_PORT"; then return; fi
  for p in "$NAMESRV_PORT" "$BROKER_PORT" "$PROXY_GRPC_PORT"; do port_open "$p" && ! pid_alive namesrv && die "port $p is taken by a process this script did not start"; done
  local t0; t0=$(now_ms)
  mkdir -p "$STATE/rocketmq/conf" "$STATE/rocketmq/store"
  with_properties "$ROCKETMQ_CONF/broker.conf" brokerIP1=127.0.0.1 "namesrvAddr=127.0.0.1:$NAMESRV_PORT" \
    "listenPort=$BROKER_PORT" bindAddress=127.0.0.1 "storePathRootDir=$STATE/rocketmq/store" \
    "storePathCommitLog=$STATE/rocketmq/store/commitlog" >"$STATE/rocketmq/conf/broker.conf"
  with_json "$ROCKETMQ_CONF/rmq-proxy.json" "{\"namesrvAddr\": \"127.0.0.1:$NAMESRV_PORT\", \"localServeAddr\": \"127.0.0.1\",
    \"grpcServerPort\": $PROXY_GRPC_PORT, \"remotingListenPort\": $PROXY_REMOTING_PORT}" >"$STATE/rocketmq/conf/rmq-proxy.json"
  printf 'listenPort=%s\nbindAddress=127.0.0.1\n' "$NAMESRV_PORT" >"$STATE/rocketmq/conf/namesrv.conf"
  if ! pid_alive namesrv; then
    : >"$LOGS/namesrv.log"
    java_rmq 256m org.apache.rocketmq.namesrv.NamesrvStartup -c "$STATE/rocketmq/conf/namesrv.conf"
    start_bg namesrv "${JAVA_CMD[@]}"
  fi
  wait_for namesrv 60 log_has namesrv "boot success"
  local t1; t1=$(now_ms)
  log "RocketMQ name server ready on $NAMESRV_PORT in $(elapsed "$t0")"
  if ! pid_alive proxy; then
    : >"$LOGS/proxy.log"
    java_rmq 512m org.apache.rocketmq.proxy.ProxyStartup -pm local \
      -bc "$STATE/rocketmq/conf/broker.conf" -pc "$STATE/rocketmq/conf/rmq-proxy.json" -n "127.0.0.1:$NAMESRV_PORT"
    start_bg proxy "${JAVA_CMD[@]}"
  fi
  wait_for proxy 120 log_has proxy "startup successfully"
  wait_for proxy 30 port_open "$PROXY_GRPC_PORT"
  log "RocketMQ broker+proxy ready (gRPC 127.0.0.1:$PROXY_GRPC_PORT, broker $BROKER_PORT) in $(elapsed "$t1")"
}

# ---------------------------------------------------------------- commands

# stop_one NAME [SIGNAL]: SIGTERM (SIGKILL after 10 s) by default; `kill` sends SIGKILL at once.
stop_one() {
  local name=$1 signal=${2:-TERM} file="$RUN/$1.pid"
  [[ -f "$file" ]] || return 0
  local pid; pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -s "$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    log "stopped $name (pid $pid)"
  fi
  rm -f "$file"
}

# processes NAME: the PID files a component stands for (rocketmq: the proxy, which holds the broker, and namesrv).
processes() {
  case "$1" in
    mariadb | temporal | namesrv | proxy) echo "$1" ;;
    rocketmq) echo "proxy namesrv" ;;
    *) die "unknown component '$1' (mariadb|temporal|namesrv|proxy|rocketmq)" ;;
  esac
}

print_env() {
  cat <<EOF
export RMSG_DATABASE_URL=mysql://$DB_USER:$DB_PASSWORD@127.0.0.1:$MARIADB_PORT/$DB_NAME
export TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT
export TEMPORAL_UI_URL=http://127.0.0.1:$TEMPORAL_UI_PORT
export ROCKETMQ_ENDPOINTS=127.0.0.1:$PROXY_GRPC_PORT
export ROCKETMQ_NAMESRV=127.0.0.1:$NAMESRV_PORT
export ROCKETMQ_BROKER_ADDR=127.0.0.1:$BROKER_PORT
EOF
}

status() {
  local rc=0
  for name in mariadb temporal namesrv proxy; do
    if pid_alive "$name"; then
      local pid; pid=$(cat "$RUN/$name.pid")
      printf '%-9s running  pid %-7s rss %6s MB\n' "$name" "$pid" "$(( $(ps -o rss= -p "$pid" 2>/dev/null || echo 0) / 1024 ))"
    else
      printf '%-9s stopped\n' "$name"; rc=1
    fi
  done
  return $rc
}

cmd=${1:-up}
case "$cmd" in
  up)
    # `up` starts everything; `up mariadb rocketmq` only those parts.
    shift || true
    parts=("${@:-mariadb temporal rocketmq}")
    parts=(${parts[*]})
    # Concurrent `up`s (parallel test runs, several checkouts) wait for one another, not build twice.
    mkdir -p "$CACHE"
    exec 9>"$CACHE/stack-up.lock"
    flock 9
    t0=$(now_ms)
    for part in "${parts[@]}"; do "install_$part"; done
    for part in "${parts[@]}"; do "up_$part"; done
    log "stack up (${parts[*]}) in $(elapsed "$t0") (state: $STATE)"
    ;;
  down)
    for name in proxy namesrv temporal mariadb; do stop_one "$name"; done
    ;;
  status) status ;;
  stop | kill)
    [[ -n "${2:-}" ]] || die "usage: stack.sh $cmd mariadb|temporal|namesrv|proxy|rocketmq"
    signal=TERM; [[ "$cmd" == kill ]] && signal=KILL
    for name in $(processes "$2"); do stop_one "$name" "$signal"; done
    ;;
  start)
    [[ -n "${2:-}" ]] || die "usage: stack.sh start mariadb|temporal|namesrv|proxy|rocketmq"
    processes "$2" >/dev/null
    case "$2" in namesrv | proxy) part=rocketmq ;; *) part=$2 ;; esac
    t0=$(now_ms)
    "up_$part"
    log "$2 started in $(elapsed "$t0")"
    ;;
  env) print_env ;;
  temporal-flags) temporal_dynamic_config_flags ;;
  logs)
    if [[ -n "${2:-}" ]]; then tail -n "${3:-100}" "$LOGS/$2.log"; else ls -l "$LOGS"; fi
    ;;
  reset)
    "$0" down
    rm -rf "$STATE"
    log "state removed: $STATE"
    ;;
  *) die "usage: stack.sh up|down|status|logs [component]|reset|stop|kill|start <component>|env|temporal-flags" ;;
esac
