"""Prints what python-dotenv's dotenv_values makes of each file: {"path": {key: value}}."""
import json
import sys

from dotenv import dotenv_values

print(json.dumps({path: dotenv_values(path) for path in sys.argv[1:]}))
