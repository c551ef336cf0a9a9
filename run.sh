#!/usr/bin/env bash
# Installs what is missing, then runs all of StreamBets: every service, web, admin and the stores.
# The Aspire dashboard is at http://localhost:18888. Extra arguments go to the AppHost,
# e.g. ./run.sh --StreamBets:ResetData=true
set -euo pipefail
cd "$(dirname "$0")"
eng/install-prerequisites.sh
exec dotnet run --project StreamBets.AppHost --launch-profile http -- "$@"
