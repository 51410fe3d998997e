#!/bin/bash
# Debian's python3 has the plotting stack the report script imports.
exec /usr/bin/python3 "$1"
