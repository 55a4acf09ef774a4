#!/usr/bin/env python3
"""A small argparse program whose --help output is saved as fixtures (argparse_root.txt, argparse_build.txt).

Regenerate with:
    python3 argparse_tool.py --help > argparse_root.txt
    python3 argparse_tool.py build --help > argparse_build.txt
"""
import argparse

parser = argparse.ArgumentParser(prog="argparse_tool", description="Build and serve a static site.")
parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
parser.add_argument("--version", action="version", version="1.0")
sub = parser.add_subparsers(dest="command", required=True)

b = sub.add_parser("build", help="build the site into a directory",
                   description="Build the site from SOURCE into the output directory.")
b.add_argument("source", help="the source directory")
b.add_argument("extra", nargs="*", help="extra files to include")
b.add_argument("-o", "--output", required=True, help="the output directory")
b.add_argument("--count", type=int, default=3, help="how many passes to run (default: %(default)s)")
b.add_argument("-j", "--jobs", type=int, metavar="N", help="number of parallel jobs")
b.add_argument("--scale", type=float, metavar="FLOAT", help="scale factor for images")
b.add_argument("--include", action="append", metavar="PATTERN",
               help="glob of files to include; can be repeated, and this help is long enough to wrap")
b.add_argument("--format", choices=["html", "json"], default="html", help="output format")
b.add_argument("--drafts", action="store_true", help="include drafts")
b.add_argument("--no-cache", action="store_true", help="do not reuse the cache")

s = sub.add_parser("serve", help="serve the site over HTTP")
s.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")

sub.add_parser("clean", help="remove build outputs")

if __name__ == "__main__":
    parser.parse_args()
