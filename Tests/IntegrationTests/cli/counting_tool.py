#!/usr/bin/env python3
"""An argparse CLI for the CLI transport's tests. Every run with -h/--help appends a line to the
file named by $HELP_LOG, so a test can tell whether discovery ran help processes."""
import argparse
import os
import sys

if any(a in ("-h", "--help") for a in sys.argv[1:]) and os.environ.get("HELP_LOG"):
    with open(os.environ["HELP_LOG"], "a") as log:
        log.write(" ".join(sys.argv[1:]) + "\n")

parser = argparse.ArgumentParser(prog="counting_tool", description="A small tool for tests.")
sub = parser.add_subparsers(dest="command")
greet = sub.add_parser("greet", help="Print a greeting")
greet.add_argument("-n", "--name", default="world", help="who to greet")
greet.add_argument("--count", type=int, default=1, help="how many times")
greet.add_argument("--shout", action="store_true", help="upper case")
sub.add_parser("fail", help="Exit with status 3")
args = parser.parse_args()
if args.command == "greet":
    text = f"hello {args.name}"
    for _ in range(args.count):
        print(text.upper() if args.shout else text)
elif args.command == "fail":
    print("about to fail")
    print("something went wrong", file=sys.stderr)
    sys.exit(3)
else:
    parser.print_help()
