#!/usr/bin/env bash
# kafka.sh — run a throwaway single-node Apache Kafka 4.x broker (KRaft mode,
# broker+controller in one JVM) on 127.0.0.1 for tests and local development.
#
# The broker jars come from Maven Central via `mvn dependency:copy-dependencies`
# and are cached under ${TRUSTFLOW_CACHE:-$HOME/.cache/trustflow}/kafka/<version>/libs,
# so only the first run downloads anything. Each `start` formats a fresh data dir.
#
# Usage:
#   scripts/kafka.sh start                      start (idempotent) and wait until it answers
#   scripts/kafka.sh stop                       stop (idempotent)
#   scripts/kafka.sh status                     exit 0 iff running and answering
#   scripts/kafka.sh bootstrap                  print the bootstrap address
#   scripts/kafka.sh fetch                      only download/cache the jars
#   scripts/kafka.sh topics create NAME PARTS   create a topic (if not exists)
#   scripts/kafka.sh topics list                list topics
#   scripts/kafka.sh tool MAIN_CLASS ARGS...    run any Kafka main class, e.g.
#       org.apache.kafka.tools.ConsoleProducer / org.apache.kafka.tools.consumer.ConsoleConsumer
#
# Environment: KAFKA_VERSION (default 4.4.0), KAFKA_PORT (9092),
#   KAFKA_CONTROLLER_PORT (9093), KAFKA_DATA_DIR (default: <cache>/kafka/run-<port>/data,
#   wiped on every start), KAFKA_START_TIMEOUT (seconds, 90), TRUSTFLOW_CACHE.
set -euo pipefail
# shellcheck source=scripts/service.sh
source "$(dirname "${BASH_SOURCE[0]}")/service.sh"

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
LOG4J_VERSION="2.24.3"
PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
CACHE="${TRUSTFLOW_CACHE:-$HOME/.cache/trustflow}/kafka"
HOME_DIR="$CACHE/$KAFKA_VERSION"
LIBS="$HOME_DIR/libs"
RUN_DIR="$CACHE/run-$PORT"
DATA_DIR="${KAFKA_DATA_DIR:-$RUN_DIR/data}"
PID_FILE="$RUN_DIR/kafka.pid"
LOG_FILE="$RUN_DIR/broker.log"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
BOOTSTRAP="127.0.0.1:$PORT"

log() { echo "kafka.sh: $*" >&2; }

# Download the broker + tools jars once (a stamp file marks a complete copy).
fetch() {
  [[ -f "$LIBS/.complete" ]] && return 0
  command -v mvn >/dev/null || { log "mvn not found"; exit 1; }
  log "fetching Kafka $KAFKA_VERSION from Maven Central into $LIBS"
  mkdir -p "$HOME_DIR"
  local dep='<dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>\n'
  {
    echo '<project><modelVersion>4.0.0</modelVersion><groupId>trustflow</groupId>'
    echo '<artifactId>kafka-libs</artifactId><version>1</version><packaging>pom</packaging><dependencies>'
    # shellcheck disable=SC2059
    printf "$dep" org.apache.kafka kafka_2.13 "$KAFKA_VERSION" \
      org.apache.kafka kafka-tools "$KAFKA_VERSION" \
      org.apache.logging.log4j log4j-core "$LOG4J_VERSION" \
      org.apache.logging.log4j log4j-slf4j-impl "$LOG4J_VERSION"
    echo '</dependencies></project>'
  } >"$HOME_DIR/pom.xml"
  rm -rf "$LIBS.tmp"
  mvn -q -B -f "$HOME_DIR/pom.xml" -Dmaven.repo.local="$CACHE/m2" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" </dev/null >"$HOME_DIR/mvn.log" 2>&1 \
    || { log "mvn failed:"; cat "$HOME_DIR/mvn.log" >&2; exit 1; }
  rm -rf "$LIBS" && mv "$LIBS.tmp" "$LIBS" && touch "$LIBS/.complete"
}

# Log config for CLI tools: warnings only, on stderr.
tools_log4j() {
  local f="$HOME_DIR/tools-log4j2.properties"
  [[ -f "$f" ]] || cat >"$f" <<'EOF'
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = ERR
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
EOF
  echo "$f"
}

# Run a Kafka main class with the cached classpath.
kjava() {
  fetch
  java -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$(tools_log4j)" \
    -cp "$LIBS/*" "$@"
}

# Our broker is alive: the pid file names a live process that is a kafka.Kafka JVM.
pid_alive() {
  [[ -f "$PID_FILE" ]] && [[ "$(tr '\0' ' ' <"/proc/$(cat "$PID_FILE")/cmdline" 2>/dev/null)" == *"kafka.Kafka "* ]]
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
answers() {
  port_open && timeout 30 java -Xmx256m -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$(tools_log4j)" -cp "$LIBS/*" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --list >/dev/null 2>&1
}

log_tail() {
  log "first errors in $LOG_FILE:"; grep -E '\] (ERROR|FATAL) ' "$LOG_FILE" | head -n 5 >&2 || true
  log "last lines:"; tail -n 30 "$LOG_FILE" >&2
}

write_config() {
  cat >"$RUN_DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR/logs
num.partitions=4
auto.create.topics.enable=true
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOF
  cat >"$RUN_DIR/log4j2.properties" <<'EOF'
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
EOF
}

# A random KRaft cluster id: 16 random bytes, base64url without padding (22 chars).
cluster_id() {
  local id="-"
  while [[ "$id" == -* ]]; do
    id="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  done
  echo "$id"
}

start() {
  if pid_alive && answers; then
    log "already running (pid $(cat "$PID_FILE")) on $BOOTSTRAP"; return 0
  fi
  fetch
  if pid_alive; then log "pid $(cat "$PID_FILE") alive but not answering; restarting"; stop; fi
  if port_open; then
    if answers; then log "a broker not started by this script already answers on $BOOTSTRAP"; return 0; fi
    log "port $PORT is taken by something that is not a Kafka broker"; exit 1
  fi
  mkdir -p "$RUN_DIR"
  rm -rf "$DATA_DIR" && mkdir -p "$DATA_DIR"
  write_config
  local t0=$SECONDS
  kjava kafka.tools.StorageTool format -t "$(cluster_id)" -c "$RUN_DIR/server.properties" \
    >"$RUN_DIR/format.log" 2>&1 || { log "storage format failed:"; cat "$RUN_DIR/format.log" >&2; exit 1; }
  # shellcheck disable=SC2086
  nohup java -Xms256m -Xmx1G -XX:+UseG1GC -Djava.awt.headless=true ${KAFKA_JVM_OPTS:-} \
    -Dlog4j2.configurationFile="$RUN_DIR/log4j2.properties" -cp "$LIBS/*" \
    kafka.Kafka "$RUN_DIR/server.properties" >"$LOG_FILE" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$PID_FILE"
  while ((SECONDS - t0 < START_TIMEOUT)); do
    # kill -0, not pid_alive: until nohup has exec'd java, the child's command line is ours.
    if ! kill -0 "$pid" 2>/dev/null; then log "broker exited during startup"; log_tail; exit 1; fi
    if answers; then log "started pid $(cat "$PID_FILE") on $BOOTSTRAP in $((SECONDS - t0))s (log: $LOG_FILE)"; return 0; fi
    sleep 1
  done
  log "broker did not answer within ${START_TIMEOUT}s"
  log_tail
  stop
  exit 1
}

stop() { stop_service 60 0.5; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if pid_alive && answers; then log "running on $BOOTSTRAP"; else log "not running"; exit 1; fi ;;
  bootstrap) echo "$BOOTSTRAP" ;;
  fetch) fetch; echo "$LIBS" ;;
  topics)
    case "${2:-}" in
      create)
        [[ $# -eq 4 ]] || { log "usage: $0 topics create NAME PARTITIONS"; exit 2; }
        kjava org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --create \
          --if-not-exists --topic "$3" --partitions "$4" --replication-factor 1 ;;
      list) kjava org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --list ;;
      *) log "usage: $0 topics create NAME PARTITIONS | topics list"; exit 2 ;;
    esac ;;
  tool) shift; [[ $# -ge 1 ]] || { log "usage: $0 tool MAIN_CLASS ARGS..."; exit 2; }; kjava "$@" ;;
  *) log "usage: $0 start|stop|status|bootstrap|fetch|topics create NAME PARTS|topics list|tool CLASS ARGS..."; exit 2 ;;
esac
