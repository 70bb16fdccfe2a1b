from kpiengine.cli import entry

entry()
