# shellcheck shell=bash
# Pulumi without an account or a prompt: state in the local backend (~/.pulumi, see Pulumi.yaml), stack
# secrets encrypted with a random passphrase kept beside it, the CLI from the project's own npm dependency.
# Set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE yourself to use your own.

use_local_pulumi() {
  local repo_root=$1
  if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    local file="$HOME/.pulumi/tidbstack.passphrase"
    if [ ! -s "$file" ]; then
      mkdir -p "$(dirname "$file")"
      (umask 077 && node -e 'process.stdout.write(require("node:crypto").randomBytes(24).toString("base64url"))' > "$file")
      echo "created a passphrase for this machine's stack secrets in $file" >&2
    fi
    export PULUMI_CONFIG_PASSPHRASE_FILE="$file"
  fi
  export PULUMI_SKIP_UPDATE_CHECK=true
  PULUMI=("$repo_root/node_modules/.bin/pulumi")
}

# Sets a secret in the stack's config once; later runs keep it.
ensure_secret() {
  local key=$1 value=$2
  if ! "${PULUMI[@]}" config get "$key" >/dev/null 2>&1; then
    "${PULUMI[@]}" config set --secret "$key" "$value" >/dev/null
    echo "set secret $key" >&2
  fi
}
