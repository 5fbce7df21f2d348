"""``fhirconv pull``: read a patient's resources back from a FHIR server into a case file."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import click

from fhirconv.commands.options import output_option
from fhirconv.commands.server_options import PULL_EXITS, make_client, server_options
from fhirconv.errors import FindingsError, InputError, MappingError


def import_pulled(
    bundle: dict[str, Any],
    name: str,
    doi: str | None = None,
    source: str | None = None,
    *,
    lenient: bool = False,
) -> tuple[Any, list[Any]]:
    """The pulled bundle read into the case model: (case, what could not be mapped).

    It goes through the same reading, validation first, as ``fhirconv import`` (``lenient``:
    as ``import --lenient``), which leaves the server's version bookkeeping
    (``meta.versionId``, ``meta.lastUpdated``) out.
    """
    from fhirconv.fileio import dump_json
    from fhirconv.importing.reader import import_entries, read_entries
    from fhirconv.mapping.reading import Unmapped

    problems: list[Unmapped] | None = [] if lenient else None
    try:
        entries = read_entries(dump_json(bundle), name, problems=problems)
        result = import_entries(entries, doi, source=source, problems=problems)
    except (InputError, MappingError) as err:
        why = err.message.removeprefix(f"{name}: ")
        raise InputError(
            f"{name}: pulled, but not imported: {why}\n"
            "(--bundle-only writes the resources as they are, without importing them)"
        ) from None
    return result.case, result.unmapped


def check_types(types: tuple[str, ...]) -> None:
    """Refuse a --type that no search by patient can find: not an R4 resource type, or not in
    the Patient compartment."""
    import difflib

    from fhirconv.server.pull import PATIENT_SEARCH
    from fhirconv.validation.definitions import resource_types

    for name in types:
        if name in PATIENT_SEARCH:
            continue
        if name == "Patient":
            raise InputError("--type Patient: the Patient is always read; --type names the other types")
        if name in resource_types():
            raise InputError(
                f"--type {name}: not in the R4 Patient compartment, so no search by patient finds it"
            )
        close = difflib.get_close_matches(name, sorted(PATIENT_SEARCH), n=1, cutoff=0.6)
        close = close or [t for t in PATIENT_SEARCH if t.lower() == name.lower()]
        hint = f"; did you mean {close[0]}?" if close else ""
        raise InputError(f"--type {name!r} is not a FHIR R4 resource type{hint}")


@click.command()
@server_options
@click.option("--patient", required=True, metavar="ID", help="The server's id of the Patient to read.")
@output_option("-o", "--output", help="Write the case file (YAML) to FILE instead of standard output (-).")
@output_option(
    "--bundle",
    "bundle_file",
    help="Also write the resources as the server holds them, as a collection Bundle (JSON), to FILE.",
)
@click.option(
    "--bundle-only",
    is_flag=True,
    help="Write only the collection Bundle (to --bundle, else standard output); do not import it.",
)
@click.option("--strict", is_flag=True, help="Exit 1 when anything pulled could not be mapped to the case.")
@click.option(
    "--lenient",
    is_flag=True,
    help="Import what can be read of resources that break FHIR's rules: the validation errors go "
    "into the import report and the resources they are in are left out (default: refuse them).",
)
@click.option(
    "--doi",
    help="DOI of the publication the case comes from, for patients whose resources do not name one.",
)
@click.option(
    "--everything/--search",
    "everything",
    default=None,
    help="Use Patient/$everything, or searches by patient; by default $everything when the "
    "server's CapabilityStatement offers it.",
)
@click.option(
    "--type",
    "types",
    multiple=True,
    metavar="TYPE",
    help="Search only these resource types (repeatable); by default every clinical type of the "
    "R4 Patient compartment that the server can search.",
)
def pull(
    server: str,
    token: str | None,
    timeout: float,
    retries: int,
    backoff: float,
    allow_insecure_http: bool,
    patient: str,
    output: Path | None,
    bundle_file: Path | None,
    bundle_only: bool,
    strict: bool,
    everything: bool | None,
    types: tuple[str, ...],
    lenient: bool = False,
    doi: str | None = None,
) -> None:
    """Read one patient back from a FHIR R4 server into a case file.

    Fetches the Patient and every resource that refers to it (Patient/$everything
    when the server offers it, else a search per resource type, following every
    page) and the Medications they name (no search by patient finds those), then
    imports them as `fhirconv import` does: the case file goes to -o
    or standard output, the import report (what could not be mapped) to standard
    error.

    \b
    Examples:
      fhirconv pull --server http://127.0.0.1:8103/fhir/R4 --patient case2-patient -o case2.yaml
      fhirconv pull --server https://fhir.example.org/r4 --patient 123 --bundle-only --bundle p123.json
    """
    from fhirconv.fileio import check_outputs, dump_json, is_stdout, write_output
    from fhirconv.server.client import display_url
    from fhirconv.server.pull import PATIENT_SEARCH, collection_bundle, fetch_patient

    check_types(types)
    if not re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", patient):
        raise InputError(f"--patient {patient!r} is not a FHIR id (letters, digits, '-' and '.', at most 64)")
    if bundle_only and output is not None:
        raise InputError("--bundle-only writes no case file: use --bundle FILE instead of -o")
    check_outputs({"-o": None if bundle_only else output or "-", "--bundle": bundle_file})
    with make_client(server, token, timeout, retries, backoff, allow_insecure_http) as client:
        left_out: list[str] = []
        wanted = types or tuple(PATIENT_SEARCH)
        resources = fetch_patient(client, patient, types=wanted, use_everything=everything, left_out=left_out)
        bundle = collection_bundle(resources, client.base_url)
        source = f"Patient/{patient} from {client.base_url}"
        # Where the case comes from, when its resources name no publication.
        origin = f"{display_url(client.base_url).rstrip('/')}/Patient/{patient}"
    click.echo(f"Pulled {len(resources)} resources of Patient/{patient}", err=True)
    for where, count in Counter(left_out).items():
        what = "an entry" if count == 1 else f"{count} entries"
        click.echo(f"Left out {what} of {where} that is no resource with a resourceType and an id", err=True)
    bundle_data = dump_json(bundle)
    if bundle_file is not None or bundle_only:
        write_output(bundle_data, bundle_file)
    if bundle_only:
        return

    from fhirconv.importing.reader import case_to_yaml, report_text

    case, unmapped = import_pulled(bundle, source, doi, origin, lenient=lenient)
    data = case_to_yaml(case).encode("utf-8")
    write_output(data, output)
    if not is_stdout(output):
        click.echo(f"Wrote case {case.id} to {output}", err=True)
    click.echo(report_text(unmapped), err=True, nl=False)
    if strict and unmapped:
        raise FindingsError(f"{len(unmapped)} element(s) pulled from the server not mapped (--strict)")


pull.epilog = PULL_EXITS
