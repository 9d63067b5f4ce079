"""The seed's large-output test: 1,000,000 lines (about 100 MB) on stdout, progress on stderr.

Pass ``--no-sleep`` to drop the seed's 0.1 s pause every 10,000 lines and ``--lines N`` to scale it.
"""

import argparse
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--no-sleep", action="store_true")
    args = parser.parse_args()
    for i in range(args.lines):
        print(f"Line {i}: " + "x" * 100)
        if i % 10000 == 0:
            print(f"Progress: {i / 10000}%", file=sys.stderr)
            if not args.no_sleep:
                time.sleep(0.1)  # the seed's "simulate processing"


if __name__ == "__main__":
    main()
