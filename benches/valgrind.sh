# Sourced by the scripts that count instructions: installs Valgrind from the system's packages
# (apt-get) when it is missing.
if ! command -v valgrind >/dev/null; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq valgrind >/dev/null
fi
