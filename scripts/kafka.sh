#!/usr/bin/env bash
# One Apache Kafka 4 broker (KRaft, combined broker+controller) on free loopback ports.
#
#   scripts/kafka.sh start       prints KAFKA_BROKERS=127.0.0.1:PORT and KAFKA_DIR=DIR
#   scripts/kafka.sh stop DIR    ends that broker and removes its data (DIR defaults to $KAFKA_DIR)
#
# KAFKA_PROPERTIES, when set, is appended to the broker's server.properties (one
# property a line), e.g. the consumer group protocol's timeouts for a bench.
#
# The broker's jars come from Maven Central once (scripts/kafka/pom.xml) into
# $KAFKA_CACHE (default ~/.cache/effect-ordered/kafka-<pom hash>); offline afterwards.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pom="$here/kafka/pom.xml"

jars() {
  local cache="${KAFKA_CACHE:-$HOME/.cache/effect-ordered/kafka-$(sha1sum "$pom" | cut -c1-12)}"
  if [ ! -f "$cache/.complete" ]; then
    mkdir -p "$cache"
    local started=$SECONDS
    mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$cache/libs" \
      -Dmaven.repo.local="$cache/m2" >&2
    rm -rf "$cache/m2"
    touch "$cache/.complete"
    echo "kafka.sh: fetched the broker's jars in $((SECONDS - started)) s" >&2
  fi
  echo "$cache/libs"
}

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Starts the broker once; returns 3 when a probed port was taken in between (start again).
start_once() {
  local libs="$1" dir broker controller id
  dir="$(mktemp -d "${TMPDIR:-/tmp}/effect-ordered-kafka.XXXXXX")"
  broker="$(free_port)"
  controller="$(free_port)"
  while [ "$controller" = "$broker" ]; do controller="$(free_port)"; done
  # A cluster id is 16 random bytes, base64url without padding; one starting
  # with "-" would read as an option (Kafka's own generator skips those too).
  id="$(node -e 'let id; do id = require("crypto").randomBytes(16).toString("base64url"); while (id.startsWith("-")); console.log(id)')"
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=PLAINTEXT://127.0.0.1:$broker,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$broker
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=8
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
${KAFKA_PROPERTIES:-}
PROPS
  cat >"$dir/log4j2.properties" <<PROPS
status = error
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
appender.file.type = File
appender.file.name = file
appender.file.fileName = $dir/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
PROPS
  local java=(java -Xms64m -Xmx512m -XX:+UseSerialGC -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$dir/log4j2.properties" -cp "$libs/*")
  "${java[@]}" kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 || {
    cat "$dir/format.log" >&2
    rm -rf "$dir"
    return 1
  }
  setsid "${java[@]}" kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  local deadline=$((SECONDS + 90))
  until grep -q "Kafka Server started" "$dir/server.log" 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$broker") 2>/dev/null; do
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      if grep -q "Address already in use" "$dir/server.log" "$dir/stdout.log" 2>/dev/null; then
        stop "$dir"
        return 3
      fi
      echo "kafka.sh: the broker did not start; its log:" >&2
      tail -n 40 "$dir/server.log" "$dir/stdout.log" >&2 || true
      stop "$dir"
      return 1
    fi
    sleep 0.2
  done
  echo "KAFKA_BROKERS=127.0.0.1:$broker"
  echo "KAFKA_DIR=$dir"
}

start() {
  local libs status
  libs="$(jars)"
  for _ in 1 2 3; do
    status=0
    start_once "$libs" || status=$?
    [ "$status" = 3 ] || exit "$status"
  done
  echo "kafka.sh: the probed ports were taken three times" >&2
  exit 1
}

stop() {
  local dir="${1:-${KAFKA_DIR:-}}"
  [ -n "$dir" ] && [ -f "$dir/server.properties" ] || { echo "kafka.sh: usage: kafka.sh stop DIR" >&2; exit 2; }
  if [ -f "$dir/pid" ]; then
    local pid
    pid="$(cat "$dir/pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
