"""``fhirconv ig``: implementation-guide packages in the FHIR package cache (install, list)."""

from __future__ import annotations

import click

from fhirconv.commands.options import Group

COMMANDS: list[click.Command] = []


@click.group("ig", cls=Group)
def ig_group() -> None:
    """FHIR packages (implementation guides) for validate --ig.

    Packages live in the FHIR package cache shared with HL7's tools:
    ~/.fhir/packages/<name>#<version>/package/, or $FHIRCONV_PACKAGE_CACHE.
    """


@ig_group.command("install")
@click.argument("specs", nargs=-1, required=True, metavar="NAME@VERSION...")
@click.option(
    "--registry",
    metavar="URL",
    default=None,
    help="The npm registry to fetch from (default: $FHIRCONV_NPM_REGISTRY, else https://registry.npmjs.org).",
)
def install_command(specs: tuple[str, ...], registry: str | None) -> None:
    """Install FHIR packages and their dependencies from the npm registry into the package cache.

    A dependency version the registry does not publish is replaced by the nearest
    published one, and the output says so; hl7.fhir.r4.core is not on npm and is
    built into fhirconv.  Without @VERSION the latest version is installed.

    \b
    Examples:
      fhirconv ig install hl7.fhir.uv.ips@2.0.0
      fhirconv ig install hl7.fhir.us.mcode@4.0.0 hl7.terminology.r4@7.0.1
      fhirconv validate --ig hl7.fhir.uv.ips@2.0.0 ips-bundle.json
    """
    from fhirconv.packages.registry import Installed, install

    def report(outcome: Installed) -> None:
        click.echo(outcome.line())

    for spec in specs:
        install(spec, registry=registry, report=report)


@ig_group.command("list")
def list_command() -> None:
    """List the packages in the FHIR package cache.

    \b
    Example:
      fhirconv ig list
    """
    from fhirconv.packages.package import cache_dir

    root = cache_dir()
    found = sorted(
        entry.name for entry in (root.iterdir() if root.is_dir() else []) if (entry / "package").is_dir()
    )
    if not found:
        click.echo(f"the package cache {root} holds no packages")
        return
    for name in found:
        click.echo(name)


COMMANDS.append(ig_group)
