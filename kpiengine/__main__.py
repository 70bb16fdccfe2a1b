from kpiengine.cli import main

main()
