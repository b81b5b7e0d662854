import sys

from station_client.cli import main

if __name__ == "__main__":
    sys.exit(main())
