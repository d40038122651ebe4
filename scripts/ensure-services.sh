#!/usr/bin/env bash
# Make sure PostgreSQL and RabbitMQ answer (CONTRACT §1): the local servers when they run,
# this machine's packaged servers when installed but stopped, else Docker compose.
set -euo pipefail

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
amqp_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

wait_for() { # name check seconds
  local name=$1 check=$2 deadline=$((SECONDS + $3))
  until $check; do
    if (( SECONDS > deadline )); then echo "$name did not start in time" >&2; return 1; fi
    sleep 1
  done
}

if [[ -n "${TEST_DATABASE_URL:-}" && -n "${TEST_AMQP_URL:-}" ]]; then
  exit 0  # the tests were pointed at servers elsewhere
fi

started_compose=false
if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
  elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    docker compose -f deploy/compose.yaml up -d postgres && started_compose=true
  fi
  wait_for PostgreSQL pg_up 60
fi
if ! amqp_up; then
  if command -v rabbitmq-server >/dev/null 2>&1; then
    echo "starting RabbitMQ"
    rabbitmq-server -detached || true
  elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    docker compose -f deploy/compose.yaml up -d rabbitmq && started_compose=true
  fi
  wait_for RabbitMQ amqp_up 120
fi
if command -v rabbitmqctl >/dev/null 2>&1; then
  # the port opens before the broker accepts logins; wait until it really answers
  timeout 120 rabbitmqctl await_startup >/dev/null 2>&1 || true
fi
$started_compose && echo "PostgreSQL/RabbitMQ started with deploy/compose.yaml"
exit 0
