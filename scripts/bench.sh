#!/usr/bin/env bash
# `make bench`: GET /api/v1/me (JWT, tenant context, RLS) against /healthz on gunicorn, at 1 and
# 50 concurrent clients; then the stock benchmark on the same gunicorn: a flash sale of
# reservations, their SQL ceiling and product search; then the payments benchmark in-process:
# signed webhook handling and PayNow QR generation; then the GST F5 over 1,000,000 journal
# lines against a plain GROUP BY. Figures go to bench/results/ (see
# bench/README.md).
#
# Uses a database of its own beside DATABASE_URL's (or the embedded PostgreSQL's), named
# <name>_bench and recreated on every run. Tunable from the environment:
#   BENCH_WORKER_CLASS (gthread), BENCH_WORKERS (one per core: 2 on the reference machine),
#   BENCH_THREADS (4), BENCH_DURATION (10 s measured), BENCH_WARMUP (2 s), BENCH_CONCURRENCY (1,50),
#   BENCH_PHASES (foundation,stock,sustained,shop,payments,ledger: name some to run only those)
set -euo pipefail
cd "$(dirname "$0")/.."

python=.venv/bin/python
worker_class=${BENCH_WORKER_CLASS:-gthread}
workers=${BENCH_WORKERS:-$(nproc)}
threads=${BENCH_THREADS:-4}
phases=,${BENCH_PHASES:-foundation,stock,sustained,shop,payments,ledger},

DATABASE_URL=$($python scripts/dev_database.py)
DATABASE_URL=$(DATABASE_URL=$DATABASE_URL $python -m bench.database)
export DATABASE_URL
# Production-like: no debug toolbar, no SQL kept in memory, no tracebacks rendered.
export PASAR_ENV=development DEBUG=false ALLOWED_HOSTS=127.0.0.1,localhost

scratch=$(mktemp -d)
gunicorn_pid=
stop() {
  if [ -n "$gunicorn_pid" ] && kill -0 "$gunicorn_pid" 2>/dev/null; then
    kill -TERM "$gunicorn_pid"
    wait "$gunicorn_pid" 2>/dev/null || true
  fi
}
trap 'stop; rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM

# Runs a step with its output in var/bench/<step>.log, shown only when the step fails.
step() {
  local log="var/bench/$1.log"
  shift
  if ! "$@" >"$log" 2>&1; then
    tail -20 "$log"
    echo "Failed: $*  (full log: $log)"
    exit 1
  fi
}

mkdir -p var/bench
echo "Preparing the benchmark database ..."
step migrate $python manage.py migrate --no-input -v 0
step prepare $python -m bench.prepare "$scratch/token"
if [[ $phases == *,foundation,* ]]; then
  echo "Measuring one request's cost in-process ..."
  step request_cost $python -m bench.request_cost "$scratch/token" --json "$scratch/request_cost.json"
fi

# Starts gunicorn on a free port with the given worker class, workers and threads; its log is
# var/bench/gunicorn-<phase>.log.
start_gunicorn() {
  local phase=$1 class=$2 count=$3 per_worker=$4
  port=$($python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "Starting gunicorn on 127.0.0.1:$port ($count $class workers x $per_worker threads; log in var/bench/gunicorn-$phase.log)"
  .venv/bin/gunicorn pasar.wsgi:application \
    --bind "127.0.0.1:$port" --workers "$count" --worker-class "$class" \
    --threads "$per_worker" --keep-alive 5 >"var/bench/gunicorn-$phase.log" 2>&1 &
  gunicorn_pid=$!
}

# A failed phase does not stop the next one; the run fails if either did.
status=0
if [[ $phases == *,foundation,* ]]; then
  start_gunicorn foundation "$worker_class" "$workers" "$threads"
  $python -m bench.run \
    --base-url "http://127.0.0.1:$port" --token-file "$scratch/token" --server-pid "$gunicorn_pid" \
    --worker-class "$worker_class" --workers "$workers" --threads "$threads" \
    --duration "${BENCH_DURATION:-10}" --warmup "${BENCH_WARMUP:-2}" \
    --concurrency "${BENCH_CONCURRENCY:-1,50}" --results-dir bench/results \
    --request-cost "$scratch/request_cost.json" || status=$?
  stop
fi
if [[ $phases == *,stock,* ]]; then
  stock_class=${BENCH_STOCK_WORKER_CLASS:-$worker_class}
  stock_workers=${BENCH_STOCK_WORKERS:-$workers}
  stock_threads=${BENCH_STOCK_THREADS:-$threads}
  echo
  echo "Stock: flash sale, SQL ceiling, product search ..."
  start_gunicorn stock "$stock_class" "$stock_workers" "$stock_threads"
  $python -m bench.flash_sale \
    --base-url "http://127.0.0.1:$port" --token-file "$scratch/token" --server-pid "$gunicorn_pid" \
    --worker-class "$stock_class" --workers "$stock_workers" --threads "$stock_threads" \
    --results-dir bench/results || status=$?
  stop
fi
if [[ $phases == *,sustained,* ]]; then
  echo
  echo "Sustained: reservations over HTTP for 40 s at 1 and 50 clients, against pgbench running the app's statements ..."
  start_gunicorn sustained "$worker_class" "$workers" "$threads"
  $python -m bench.sustained \
    --base-url "http://127.0.0.1:$port" --token-file "$scratch/token" --server-pid "$gunicorn_pid" \
    --worker-class "$worker_class" --workers "$workers" --threads "$threads" \
    --results-dir bench/results || status=$?
  stop
fi
if [[ $phases == *,shop,* ]]; then
  echo
  echo "Shop: 5,000 products; category and product pages, add to cart, checkouts against pgbench ..."
  # Every signed webhook comes from this one address: the per-address limit (there for a
  # flood from one place; a provider sends from several) would turn most of them away.
  PAYMENT_WEBHOOK_RATE_LIMIT=0 start_gunicorn shop "$worker_class" "$workers" "$threads"
  $python -m bench.shop \
    --base-url "http://127.0.0.1:$port" --server-pid "$gunicorn_pid" \
    --worker-class "$worker_class" --workers "$workers" --threads "$threads" \
    --results-dir bench/results || status=$?
  stop
fi
if [[ $phases == *,payments,* ]]; then
  echo
  echo "Payments: signed webhooks (first and duplicate deliveries), PayNow QR generation ..."
  $python -m bench.payments --results-dir bench/results || status=$?
fi
if [[ $phases == *,ledger,* ]]; then
  echo
  echo "Ledger: the GST F5 over a quarter of 1,000,000 journal lines, against a plain GROUP BY ..."
  $python -m bench.ledger --results-dir bench/results || status=$?
fi
exit $status
