from stationhouse.cli import main

main()
