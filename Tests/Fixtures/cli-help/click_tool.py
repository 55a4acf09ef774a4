#!/usr/bin/env python3
"""A small Click program whose --help output is saved as fixtures (click_root.txt, click_deploy.txt).

Regenerate with:
    python3 click_tool.py --help > click_root.txt
    python3 click_tool.py deploy --help > click_deploy.txt
"""
import click


@click.group()
@click.option("--debug/--no-debug", default=False, help="Enable debug logging.")
@click.option("-c", "--config", type=click.Path(), help="Path to the configuration file.")
@click.version_option("1.2.3")
def cli(debug, config):
    """Manage deployments of the demo service.

    Longer prose that explains the tool in more detail and is not a
    command or an option.
    """


@cli.command()
@click.argument("target")
@click.argument("files", nargs=-1)
@click.option("-n", "--name", required=True, help="Name of the release.")
@click.option("--replicas", type=int, default=1, show_default=True, help="How many replicas to start.")
@click.option("--ratio", type=float, help="Traffic ratio for the canary, between 0 and 1.")
@click.option("-t", "--tag", multiple=True, help="A tag to attach (can be repeated).")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", help="Output format.")
@click.option("--dry-run", is_flag=True, help="Show what would be done without doing it. This description is long enough that Click wraps it onto a second line.")
@click.option("-v", "--verbose", count=True, help="More output.")
def deploy(target, files, name, replicas, ratio, tag, fmt, dry_run, verbose):
    """Deploy the service to TARGET."""


@cli.command(name="status")
@click.option("--watch", is_flag=True, help="Keep watching.")
def status(watch):
    """Show the deployment status."""


@cli.command(name="roll-back")
@click.argument("revision", type=int)
def roll_back(revision):
    """Roll back to an earlier REVISION."""


if __name__ == "__main__":
    cli()
