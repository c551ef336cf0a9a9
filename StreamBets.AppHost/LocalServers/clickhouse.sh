#!/usr/bin/env bash
# Local mode: runs ClickHouse from the machine's packages in the foreground.
# Usage: clickhouse.sh DATA_DIR HTTP_PORT TCP_PORT. Only the HTTP interface is used by StreamBets.
set -euo pipefail
data="$1"; http_port="$2"; tcp_port="$3"
server=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)
if [ ! -x "$server" ]; then
  echo "ClickHouse is not installed: install the Debian package 'clickhouse-server' (see the README's run command)." >&2
  exit 1
fi
mkdir -p "$data/data" "$data/tmp" "$data/user_files" "$data/format_schemas"
# A server a run killed hard left behind still locks the data folder ("Another server instance in same directory is
# already running"): stop it first. Its status file names its PID.
source "$(dirname "$0")/stop-leftover.sh"
stop_leftover "$(sed -n 's/^PID: //p' "$data/data/status" 2>/dev/null || true)" clickhouse-serv
cat > "$data/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><date_time_input_format>best_effort</date_time_input_format></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
XML
cat > "$data/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>$http_port</http_port>
  <tcp_port>$tcp_port</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$data/data/</path>
  <tmp_path>$data/tmp/</tmp_path>
  <user_files_path>$data/user_files/</user_files_path>
  <format_schema_path>$data/format_schemas/</format_schema_path>
  <users_config>$data/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>
XML
exec "$server" --config-file="$data/config.xml"
