#!/bin/bash
# The CI test counter's unit tests (Python's unittest; Debian's python3, no Bazel Python rules).
exec /usr/bin/python3 "$1"
