#!/usr/bin/env sh
# Prints the path of a Python 3.13 (preferred) or 3.12 interpreter, or explains what to install.
# Order: python3.13 on PATH, pyenv's 3.13.x, python3.12 on PATH, pyenv's 3.12.x.
set -u

works() { "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info[:2] in ((3, 13), (3, 12)) else 1)' >/dev/null 2>&1; }

pyenv_root=""
if command -v pyenv >/dev/null 2>&1; then pyenv_root=$(pyenv root 2>/dev/null); fi
[ -n "$pyenv_root" ] || pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"

for minor in 13 12; do
  candidate=$(command -v "python3.$minor" 2>/dev/null || true)
  if [ -n "$candidate" ] && works "$candidate"; then echo "$candidate"; exit 0; fi
  for candidate in $(ls -d "$pyenv_root"/versions/3."$minor".* 2>/dev/null | sort -t. -k3 -n -r); do
    if works "$candidate/bin/python3"; then echo "$candidate/bin/python3"; exit 0; fi
  done
done

cat >&2 <<'MSG'
Pasar needs Python 3.13 (or 3.12) with the venv module, and none was found.
Install one of:
  - Debian/Ubuntu: apt-get install python3.13 python3.13-venv   (or python3.12 python3.12-venv)
  - pyenv:         pyenv install 3.13
Then run the make command again.
MSG
exit 1
