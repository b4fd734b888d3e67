#!/usr/bin/env bash
# Install or upgrade signaldesk on an Ubuntu 24.04 VPS. Idempotent: run it again after every `git pull`.
#
#   sudo systemd/install.sh [--prefix DIR] [--python PATH] [--unit-dir DIR] [--cron] [--skip-doctor] [--dry-run]
#
# Copies this checkout to the prefix (default /opt/signaldesk; never touching .venv, var/, .env, config.toml or
# trained models), creates the `signaldesk` system user, the virtual environment, .env (from .env.example, only
# when absent) and var/; takes a safety backup, migrates, installs the systemd units, runs `signaldesk doctor`, and
# enables the bot, the listener and the backup, cycle and retrain timers. --dry-run prints every action.
# docs/INSTALL.md is the guide.
set -euo pipefail

SERVICE_USER=signaldesk
UNIT_DIR=/etc/systemd/system
UNIT_FILES=(signaldesk-bot.service signaldesk-listener.service signaldesk-cycle.service signaldesk-cycle.timer
            signaldesk-backup.service signaldesk-backup.timer signaldesk-retrain.service signaldesk-retrain.timer)
DAEMONS=(signaldesk-bot.service signaldesk-listener.service)
BACKOFF_SINCE_SYSTEMD=254  # RestartSteps / RestartMaxDelaySec
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PREFIX=/opt/signaldesk
PYTHON=""
DRY_RUN=0
SKIP_DOCTOR=0
USE_CRON=0

usage() {  # print how to call this script
  sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

say() {  # print one step or decision of the plan
  echo "== $*"
}

die() {  # stop with a message that says what to do
  echo "install.sh: $*" >&2
  exit 1
}

act() {  # print a command, then run it unless --dry-run
  local line
  printf -v line '%q ' "$@"
  echo "+ ${line% }"
  [[ $DRY_RUN == 1 ]] || "$@"
}

put_file() {  # put_file MODE DEST: write stdin to DEST, owned by root (printed only under --dry-run)
  local mode=$1 dest=$2 tmp
  echo "+ write $dest (mode $mode)"
  if [[ $DRY_RUN == 1 ]]; then
    cat >/dev/null
    return
  fi
  tmp=$(mktemp)
  cat >"$tmp"
  install -m "$mode" -o root -g root "$tmp" "$dest"
  rm -f "$tmp"
}

need() {  # need COMMAND HINT: a real run stops when COMMAND is missing; a dry run says so and goes on
  command -v "$1" >/dev/null 2>&1 && return 0
  [[ $DRY_RUN == 1 ]] || die "$1 is missing: $2"
  say "missing $1 (a real run stops here: $2)"
}

as_desk() {  # run a signaldesk subcommand as the desk's user, in the prefix (where .env is read)
  act runuser -u "$SERVICE_USER" -- env -C "$PREFIX" MPLCONFIGDIR="$PREFIX/var/cache/matplotlib" \
    "$PREFIX/.venv/bin/signaldesk" "$@"
}

restart_backoff_dropin() {  # the drop-in for systemd >= 254: restart delays grow from 5 s to 5 min over 8 restarts
  printf '%s\n' "# installed by signaldesk systemd/install.sh (systemd >= $BACKOFF_SINCE_SYSTEMD)" \
    "[Service]" "RestartSteps=8" "RestartMaxDelaySec=5min"
}

systemd_version() {  # print the running systemd's version number (0 when there is none)
  local version
  version=$(systemctl --version 2>/dev/null | awk 'NR == 1 {print $2}')
  echo "${version:-0}"
}

parse_args() {  # read the options into the globals
  while [[ $# -gt 0 ]]; do
    case $1 in
      --prefix) PREFIX=${2:?--prefix needs a folder}; shift 2 ;;
      --python) PYTHON=${2:?--python needs a path}; shift 2 ;;
      --unit-dir) UNIT_DIR=${2:?--unit-dir needs a folder}; shift 2 ;;
      --dry-run) DRY_RUN=1; shift ;;
      --skip-doctor) SKIP_DOCTOR=1; shift ;;
      --cron) USE_CRON=1; shift ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown option $1" ;;
    esac
  done
  [[ $PREFIX =~ ^/[A-Za-z0-9._/-]+$ ]] || die "--prefix $PREFIX: use an absolute path of letters, digits, . _ - /"
  PREFIX=$(realpath -m "$PREFIX")
}

preflight() {  # root, the OS, Python 3.12 with venv, rsync
  say "preflight"
  if [[ $EUID -ne 0 ]]; then
    [[ $DRY_RUN == 1 ]] || die "run as root: sudo $0 $*"
    say "not root: a dry run only prints the plan"
  fi
  local os="unknown"
  # shellcheck source=/dev/null
  [[ -r /etc/os-release ]] && os=$(. /etc/os-release && echo "${ID:-?} ${VERSION_ID:-?}")
  [[ $os == "ubuntu 24.04" ]] || say "warning: written for Ubuntu 24.04, this is $os"
  PYTHON=$(command -v "${PYTHON:-python3.12}" || true)
  [[ -n $PYTHON ]] || die "Python 3.12 not found: sudo apt install python3.12 python3.12-venv"
  [[ $PYTHON == /* ]] || PYTHON="$PWD/$PYTHON"
  "$PYTHON" -c 'import sys; raise SystemExit(sys.version_info[:2] < (3, 12))' \
    || die "$PYTHON is older than 3.12: sudo apt install python3.12 python3.12-venv"
  "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || die "$PYTHON has no venv module: sudo apt install python3.12-venv"
  say "python: $PYTHON ($("$PYTHON" --version 2>&1)); code from $SRC; prefix $PREFIX"
  [[ $SRC == "$PREFIX" ]] || need rsync "sudo apt install rsync"
}

ensure_user() {  # the system user the desk runs as: no login shell, home under var/
  say "user $SERVICE_USER"
  if getent passwd "$SERVICE_USER" >/dev/null; then
    say "user $SERVICE_USER exists"
  else
    act useradd --system --user-group --home-dir "$PREFIX/var/home" --no-create-home \
      --shell /usr/sbin/nologin "$SERVICE_USER"
  fi
}

stop_desk() {  # an upgrade stops the desk first, so no process runs old code against a new schema
  say "stop the desk (upgrade)"
  if [[ -e $UNIT_DIR/signaldesk-bot.service ]]; then
    act systemctl stop signaldesk-cycle.timer signaldesk-backup.timer signaldesk-retrain.timer \
      signaldesk-cycle.service signaldesk-backup.service signaldesk-retrain.service "${DAEMONS[@]}"
  else
    say "no units installed yet: nothing to stop"
  fi
}

copy_code() {  # the checkout to the prefix, owned by root (the desk cannot change its own code)
  say "code"
  if [[ $SRC == "$PREFIX" ]]; then
    say "the checkout is the prefix ($PREFIX): not copied (git pull there to upgrade)"
    return
  fi
  act mkdir -p "$PREFIX"
  # Excluded paths are never copied nor deleted; protected ones (trained models, the news calendar) are updated
  # from the checkout but never deleted when the checkout lacks them.
  act rsync -a --delete --chown=root:root --chmod=go-w \
    --exclude=/.git/ --exclude=/.venv/ --exclude=/var/ --exclude=/.env --exclude=/config.toml \
    --exclude=__pycache__/ --exclude=/*.egg-info/ --exclude=/.pytest_cache/ --exclude=/.ruff_cache/ \
    --exclude=/.hypothesis/ --exclude=/build/ --filter='protect /models/**' --filter='protect /news_calendar.csv' \
    "$SRC/" "$PREFIX/"
}

ensure_venv() {  # .venv with signaldesk installed editable, so models/, data/ and migrations/ resolve in the prefix
  say "virtual environment"
  if "$PREFIX/.venv/bin/python" -c 'import sys; raise SystemExit(sys.version_info[:2] < (3, 12))' 2>/dev/null; then
    say "$PREFIX/.venv exists"
  else
    act "$PYTHON" -m venv --clear "$PREFIX/.venv"
  fi
  act "$PREFIX/.venv/bin/python" -m pip install --quiet --upgrade pip
  # Editable: settings find models/, data/ and the news calendar next to the code, which a plain wheel install
  # (into site-packages) would not have.
  act "$PREFIX/.venv/bin/python" -m pip install --quiet --editable "$PREFIX"
  act "$PREFIX/.venv/bin/python" -m compileall -q "$PREFIX/signaldesk" "$PREFIX/bot" "$PREFIX/jobs" \
    "$PREFIX/migrations"
}

ensure_env_file() {  # .env from .env.example only when absent; always 600 and the desk's own
  say ".env"
  if [[ -e $PREFIX/.env ]]; then
    say "keep the existing $PREFIX/.env"
  else
    act install -m 600 -o "$SERVICE_USER" -g "$SERVICE_USER" "$PREFIX/.env.example" "$PREFIX/.env"
  fi
  act chown "$SERVICE_USER:$SERVICE_USER" "$PREFIX/.env"
  act chmod 600 "$PREFIX/.env"
}

ensure_dirs() {  # var/ (database, logs, backups, caches, home) and models/ (for `train`) belong to the desk
  say "folders"
  act install -d -m 750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$PREFIX/var" "$PREFIX/var/log" \
    "$PREFIX/var/backups" "$PREFIX/var/cache" "$PREFIX/var/home"
  act chown "$SERVICE_USER:$SERVICE_USER" "$PREFIX/models"
}

backup_and_migrate() {  # a safety backup of an existing database, then the migrations
  say "safety backup, then migrate"
  local rc=0
  as_desk backup || rc=$?
  case $rc in
    0) ;;
    3) say "no database yet: nothing to back up" ;;
    *) die "the safety backup failed (exit $rc); nothing was migrated. See the message above." ;;
  esac
  as_desk migrate || die "signaldesk migrate failed; the backup above holds the database as it was"
}

install_units() {  # the unit files (paths rewritten to the prefix), the restart backoff where systemd has it
  say "systemd units"
  local unit version
  for unit in "${UNIT_FILES[@]}"; do
    sed "s#/opt/signaldesk#$PREFIX#g" "$SRC/systemd/$unit" | put_file 644 "$UNIT_DIR/$unit"
  done
  version=$(systemd_version)
  if (( version >= BACKOFF_SINCE_SYSTEMD )); then
    for unit in "${DAEMONS[@]}"; do
      act install -d -m 755 "$UNIT_DIR/$unit.d"
      restart_backoff_dropin | put_file 644 "$UNIT_DIR/$unit.d/restart-backoff.conf"
    done
  else
    say "systemd $version < $BACKOFF_SINCE_SYSTEMD: no restart backoff drop-in (restarts every 5 s, start limit applies)"
  fi
  act systemctl daemon-reload
}

run_doctor() {  # pre-flight checks of the desk; a failure stops before anything is enabled
  say "doctor"
  if [[ $SKIP_DOCTOR == 1 ]]; then
    say "skipped (--skip-doctor)"
    return
  fi
  local rc=0
  as_desk doctor || rc=$?
  [[ $rc == 0 ]] || die "signaldesk doctor found a failure (exit $rc). Fix what it says (on a fresh install: fill \
in $PREFIX/.env), then run this script again. The units are installed but not enabled; the desk is stopped."
}

enable_desk() {  # the daemons and the timers, started now and at every boot
  say "enable and start"
  if [[ $USE_CRON == 1 ]]; then
    act systemctl enable --now "${DAEMONS[@]}" signaldesk-backup.timer
    act systemctl disable --now signaldesk-cycle.timer
    act systemctl disable --now signaldesk-retrain.timer  # the crontab runs it
    say "cycle by cron: sed 's#/opt/signaldesk#$PREFIX#g' $PREFIX/crontab.example | sudo crontab -u $SERVICE_USER -"
  else
    act systemctl enable --now "${DAEMONS[@]}" signaldesk-backup.timer signaldesk-cycle.timer \
      signaldesk-retrain.timer
  fi
  say "done: systemctl status 'signaldesk-*'; journalctl -u signaldesk-bot -f; logs in $PREFIX/var/log"
}

main() {  # the whole install or upgrade, in order
  parse_args "$@"
  [[ $DRY_RUN == 0 ]] || say "dry run: nothing is changed"
  preflight "$@"
  ensure_user
  stop_desk
  copy_code
  ensure_venv
  ensure_env_file
  ensure_dirs
  backup_and_migrate
  install_units
  run_doctor
  enable_desk
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
