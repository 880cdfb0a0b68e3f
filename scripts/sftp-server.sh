#!/usr/bin/env bash
# A throwaway SFTP server on loopback (Debian's OpenSSH), for tests of the `sftp` storage provider.
#   scripts/sftp-server.sh install          -> installs Debian's openssh-server when sshd is missing
#   scripts/sftp-server.sh start DIR PORT   -> prints the storage configuration as JSON
#   scripts/sftp-server.sh stop DIR         -> stops that server and removes DIR
# The server is an sshd in the foreground of its own session with its own config, host key and
# client key in DIR; the system's sshd and its config are not touched. It runs unprivileged (as
# `nobody` when started by root): an unprivileged sshd needs no privilege-separation directory and
# can only log its own user in, by key, to SFTP only (ForceCommand internal-sftp). The files live
# in DIR/files, the storage's root_path.
set -euo pipefail
# shellcheck source=server-session.sh
. "$(dirname "$0")/server-session.sh"
cmd=${1:?install|start|stop}
sshd=/usr/sbin/sshd

install() {
  [ -x "$sshd" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # Debian's policy-rc.d (or no init) keeps the package from starting the system's sshd.
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server) >&2
  else
    echo "sshd not found and cannot be installed (needs root and apt-get)" >&2
    exit 3
  fi
}

case "$cmd" in
  install) install ;;
  start)
    dir=${2:?state directory}; port=${3:?port}
    install
    mkdir -p "$dir/files"
    user=$(id -un)
    run=()
    if [ "$(id -u)" = 0 ]; then user=nobody; run=(runuser -u nobody --); fi
    ssh-keygen -q -t ed25519 -N '' -C synapse-sftp-host -f "$dir/host_key"
    ssh-keygen -q -t ed25519 -N '' -C synapse-sftp-client -f "$dir/client_key"
    cp "$dir/client_key.pub" "$dir/authorized_keys"
    cat >"$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1:$port
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
AllowUsers $user
ForceCommand internal-sftp
Subsystem sftp internal-sftp
AllowTcpForwarding no
X11Forwarding no
PermitTTY no
MaxStartups 20:30:60
LogLevel INFO
EOF
    # The server's user reaches DIR (a test's temporary folder is private to its owner).
    if [ "$(id -u)" = 0 ]; then chown -R nobody "$dir" && chmod 711 "$dir"; fi
    # sshd is started by absolute path (it re-executes itself) in its own session, so `stop`
    # ends exactly this server.
    setsid "${run[@]}" "$sshd" -D -e -f "$dir/sshd_config" >"$dir/sshd.log" 2>&1 </dev/null &
    echo $! >"$dir/session.pid"
    wait_for_port "$dir" "$port" 100 sshd "$dir/sshd.log" \
      printf '{"host":"127.0.0.1","port":%s,"username":"%s","private_key":"%s","root_path":"%s"}\n' \
      "$port" "$user" "$dir/client_key" "$dir/files"
    ;;
  stop)
    stop_session "${2:?state directory}"
    ;;
  *) echo "usage: $0 install | start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
