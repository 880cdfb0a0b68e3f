#!/usr/bin/env bash
# A throwaway S3-compatible server on loopback (moto's standalone server, from PyPI), for tests of
# the S3 storage providers (`amazon_s3`, `minio`, `digital_ocean`).
#   scripts/s3-server.sh install          -> creates .venv-moto/ with the pinned moto (no-op when complete)
#   scripts/s3-server.sh start DIR PORT   -> prints the storage configuration as JSON
#   scripts/s3-server.sh stop DIR         -> stops that server and removes DIR
# The server checks credentials like S3 does: moto enforces IAM authentication after its first
# few actions, which `start` spends creating a user, its access key, a policy allowing s3:* and
# the bucket. A wrong key or secret is then refused (InvalidAccessKeyId, SignatureDoesNotMatch).
set -euo pipefail
# shellcheck source=server-session.sh
. "$(dirname "$0")/server-session.sh"
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-moto"
pin="moto[server]==5.2.5"
cmd=${1:?install|start|stop}

python3x() {
  local candidate
  for candidate in python3.12 python3.11 python3.13 python3.10 "$HOME"/.pyenv/versions/3.1[0-9]*/bin/python python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

install() {
  # A marker written last: an install cut short is redone instead of half-used.
  [ -f "$venv/.complete" ] && return 0
  local python
  python=$(python3x) || { echo "s3-server.sh: no Python >= 3.10 found" >&2; exit 3; }
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$pin" >&2
  touch "$venv/.complete"
}

# The unauthenticated actions moto allows before it checks credentials: exactly the setup below.
SETUP_ACTIONS=4
setup='
import json, sys
import boto3
endpoint, bucket = sys.argv[1], sys.argv[2]
# Any key will do while moto does not check them yet.
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **kw)
iam.create_user(UserName="synapse-test")
key = iam.create_access_key(UserName="synapse-test")["AccessKey"]
policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
iam.put_user_policy(UserName="synapse-test", PolicyName="s3", PolicyDocument=json.dumps(policy))
boto3.client("s3", **kw).create_bucket(Bucket=bucket)
print(json.dumps({"endpoint_url": endpoint, "bucket_name": bucket, "region_name": "us-east-1",
                  "access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}))
'

case "$cmd" in
  install) install ;;
  start)
    dir=${2:?state directory}; port=${3:?port}
    install
    mkdir -p "$dir"
    # In its own session, so `stop` ends exactly this server.
    INITIAL_NO_AUTH_ACTION_COUNT=$SETUP_ACTIONS setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" \
      >"$dir/moto.log" 2>&1 </dev/null &
    echo $! >"$dir/session.pid"
    # Waits for the port without a request: every request could count as one of the setup actions.
    wait_for_port "$dir" "$port" 200 moto_server "$dir/moto.log" \
      "$venv/bin/python" -c "$setup" "http://127.0.0.1:$port" synapse-test
    ;;
  stop)
    stop_session "${2:?state directory}"
    ;;
  *) echo "usage: $0 install | start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
