#!/bin/bash
# Runs a Python unit test with Debian's python3, which has the plotting stack the report imports.
exec /usr/bin/python3 "$1"
