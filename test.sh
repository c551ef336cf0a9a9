#!/usr/bin/env bash
# Installs what is missing, then runs every test: unit, integration (real PostgreSQL, Redis and
# ClickHouse, started by the tests themselves) and the whole app in local mode.
set -euo pipefail
cd "$(dirname "$0")"
eng/install-prerequisites.sh --with-browser
dotnet build StreamBets.sln -c Debug -nologo -clp:ErrorsOnly
# One test assembly at a time: the end-to-end suites start the whole app, and this is a two-core machine.
# A test that hangs is ended (and named) after 20 minutes, not left to use up CI's whole time; no dump, which for the
# whole-app suites would be gigabytes of child processes.
exec dotnet test StreamBets.sln --no-build -nologo -m:1 --blame-hang-timeout 20m --blame-hang-dump-type none "$@"
