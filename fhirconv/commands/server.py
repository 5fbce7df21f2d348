"""``fhirconv push`` and ``fhirconv pull``: load cases into a FHIR server and read them back.

The commands glue the layers: load a case or bundle, export it, validate it
locally, send it with :mod:`fhirconv.server`.  httpx and the mapping are imported
inside the commands so that ``fhirconv --help`` does not pay for them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fhirconv.commands.options import output_option
from fhirconv.errors import FhirconvError, FindingsError, InputError, Interrupted, MappingError

if TYPE_CHECKING:
    from fhirconv.server.client import FhirClient

# Shown in --help: the exit codes each server command can end with.
_SERVER_EXITS = (
    "3 server unreachable or too slow; 4 server refused the credentials; 5 server error that retries "
    "did not cure, or an answer that is not FHIR; 130/143 stopped by Ctrl-C or SIGTERM"
)
PUSH_EXITS = (
    "Exit codes: 0 ok; 1 the server rejected a bundle, or --verify found a difference, or local "
    f"validation failed; 2 unusable input or options; {_SERVER_EXITS} (the last line says what was "
    "sent)."
)
PULL_EXITS = (
    "Exit codes: 0 ok; 1 something pulled could not be mapped to the case (--strict); 2 unusable "
    f"options, or resources that make no case; {_SERVER_EXITS}."
)


def server_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every server command shares."""
    options = [
        click.option(
            "--server",
            required=True,
            envvar="FHIRCONV_SERVER",
            show_envvar=True,
            metavar="URL",
            help="FHIR R4 base URL, e.g. https://hapi.example.org/fhir",
        ),
        click.option(
            "--token",
            envvar="FHIRCONV_TOKEN",
            show_envvar=True,
            metavar="TOKEN",
            help="Bearer token; prefer the environment variable, which stays out of shell history.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.01),
            default=60.0,
            show_default=True,
            metavar="S",
            help="Seconds to wait for an answer (connecting waits at most 10 s of it).",
        ),
        click.option(
            "--retries",
            type=click.IntRange(min=0),
            default=3,
            show_default=True,
            metavar="N",
            help="Further attempts after a 429, a 5xx, a timeout or a refused connection.",
        ),
        click.option(
            "--backoff",
            type=click.FloatRange(min=0.0),
            default=1.0,
            show_default=True,
            metavar="S",
            help="First wait before a retry, doubled each time; a Retry-After header takes precedence.",
        ),
        click.option(
            "--allow-insecure-http",
            is_flag=True,
            help="Send the token over plain http to a host other than this machine.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def make_client(
    server: str, token: str | None, timeout: float, retries: int, backoff: float, allow_insecure_http: bool
) -> FhirClient:
    from fhirconv.server.client import FhirClient
    from fhirconv.server.retry import RetryPolicy

    return FhirClient(
        server,
        token=token,
        timeout=timeout,
        connect_timeout=min(10.0, timeout),
        retry=RetryPolicy(retries=retries, backoff=backoff, max_delay=max(60.0, backoff)),
        allow_insecure_http=allow_insecure_http,
        notify=lambda message: click.echo(message, err=True),
    )


# -- push -----------------------------------------------------------------------------------


def load_source(source: str) -> tuple[dict[str, Any], bytes | None]:
    """A bundle file as it is (with its bytes), or a case (built-in name or case file) exported
    as a transaction (no bytes: nobody wrote it but fhirconv)."""
    from fhirconv.cases import load_case
    from fhirconv.mapping.bundle import build_bundle

    path = Path(source)
    if path.is_file():
        from fhirconv.kinds import FOR_CASES, Kind, recognise, wrong_kind

        data = read_bytes(path)
        found = recognise(data)
        if found.kind is Kind.BUNDLE:
            document: dict[str, Any] = found.document
            return document, data
        if found.kind is not Kind.CASE_FILE:
            refused = wrong_kind(source, found, "a case file or a FHIR Bundle", FOR_CASES)
            if refused is not None:
                raise refused
    bundle: dict[str, Any] = build_bundle(load_case(source), bundle_type="transaction")
    return bundle, None


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror}") from None


def validate_bundle(bundle: dict[str, Any], source: str, data: bytes | None = None) -> None:
    """Refuse a bundle the local validator finds errors in, listing every error.

    A file is validated as the user gave it, from its bytes (a key given twice is found
    there only), before it becomes the transaction that is sent: a collection bundle's
    profile may require it to be a collection.
    """
    from fhirconv.validation import Severity, validate_bytes, validate_resource

    issues = validate_bytes(data, source=source) if data is not None else validate_resource(bundle)
    errors = [i for i in issues if i.severity is Severity.ERROR]
    if errors:
        shown = "\n".join(f"  {i.location}: {i.message} [{i.rule}]" for i in errors)
        raise FindingsError(
            f"{source}: not pushed, local validation found {len(errors)} "
            f"error{'s' if len(errors) != 1 else ''} (push anyway with --no-validate):\n{shown}"
        )


def smaller_parts(
    error: Any, bundle: dict[str, Any], label: str, source: str
) -> list[dict[str, Any]] | None:
    """The transaction in two or more parts, when the server refused it for its size; else None.

    A refusal that says the transaction is too large (413, or Medplum's "more update
    operations than allowed") stored nothing of it, so its entries can go again in parts
    of half the size, and again, until the server takes them.  Each part is a transaction
    of its own (see :func:`~fhirconv.server.transaction.split_transaction`).  When the
    bundle cannot be split the refusal is raised with the reason and the way out.
    """
    from fhirconv.server.transaction import refused_for_size, split_transaction

    entries = len(bundle.get("entry") or [])
    if entries < 2 or not refused_for_size(error.status, error.message):
        return None
    size = (entries + 1) // 2
    try:
        parts = split_transaction(bundle, size, source)
    except InputError as why:
        error.message = (
            f"{label}: the server refused a transaction of {entries} entries as too large, and "
            f"it cannot go in parts ({why.message.removeprefix(f'{source}: ')}):\n{error.message}"
        )
        raise error from None
    click.echo(
        f"{label}: the server refused {entries} entries in one transaction; sending them in "
        f"{len(parts)} parts of at most {size} (--max-entries sets the size from the start)",
        err=True,
    )
    return parts


@click.command()
@click.argument("sources", nargs=-1, required=True, metavar="CASE|BUNDLE...")
@server_options
@click.option("--verify", is_flag=True, help="Read every resource back and report what the server changed.")
@click.option("--no-validate", is_flag=True, help="Send without validating locally first.")
@click.option(
    "--max-entries",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Split bundles into transactions of at most N entries, for servers that cap them "
    "(Medplum: 50 updates). Each part is atomic on its own. 0 (the default) splits only when "
    "the server refuses a transaction as too large.",
)
def push(
    sources: tuple[str, ...],
    server: str,
    token: str | None,
    timeout: float,
    retries: int,
    backoff: float,
    allow_insecure_http: bool,
    verify: bool,
    no_validate: bool,
    max_entries: int,
) -> None:
    """Load cases or bundles into a FHIR R4 server, one transaction each.

    CASE is a built-in case name (case1) or a case file; BUNDLE a transaction or
    collection Bundle in JSON.  Every entry is sent as PUT Type/id, so pushing
    the same case again updates the same resources and creates no duplicates;
    the server must allow update-as-create, ids chosen by the client
    (CapabilityStatement updateCreate; a Google Cloud FHIR store needs
    enableUpdateCreate).

    \b
    Example:
      FHIRCONV_TOKEN=... fhirconv push case1 case2 --server https://fhir.example.org/r4 --verify
    """
    from fhirconv.progress import progress
    from fhirconv.server.errors import ServerRejected
    from fhirconv.server.ledger import Ledger, State
    from fhirconv.server.transaction import as_transaction, read_response, split_transaction
    from fhirconv.server.verify import verify_push
    from fhirconv.streams import closed_early

    # Everything is read and checked before anything is sent: a typo in the
    # third file must not leave the first two half-loaded.
    transactions: list[tuple[str, dict[str, Any]]] = []
    numbering: list[tuple[str, int, int]] = []
    for source in sources:
        document, data = load_source(source)
        if not no_validate:
            validate_bundle(document, source, data)
        bundle = as_transaction(document, source)
        parts = split_transaction(bundle, max_entries, source)
        for number, part in enumerate(parts, start=1):
            transactions.append((source, part))
            numbering.append((source, number, len(parts)))

    ledger = Ledger(numbering)
    rejected: list[str] = []
    differences = 0
    stored = 0
    try:
        with (
            make_client(server, token, timeout, retries, backoff, allow_insecure_http) as client,
            progress("Pushing", sum(len(b.get("entry") or []) for _, b in transactions)) as advance,
        ):
            index = 0
            while index < len(transactions):
                source, bundle = transactions[index]
                label = ledger.label(index)
                index += 1
                entries = len(bundle.get("entry") or [])
                if source in rejected:
                    # Later parts refer to what the rejected part would have stored.
                    advance(entries)
                    click.echo(f"Skipped: {label}, an earlier part was rejected", err=True)
                    ledger.mark(index - 1, State.NOT_SENT)
                    continue
                ledger.mark(index - 1, State.IN_FLIGHT)
                try:
                    results = read_response(bundle, client.transaction(bundle))
                except ServerRejected as err:
                    smaller = smaller_parts(err, bundle, label, source)
                    if smaller:
                        # Refused whole, nothing of it was stored: send the same entries in parts.
                        index -= 1
                        transactions[index : index + 1] = [(source, part) for part in smaller]
                        ledger.split(index, len(smaller))
                        continue
                    advance(entries)
                    ledger.mark(index - 1, State.REJECTED)
                    err.message = f"{label}: {err.message}"
                    if len(transactions) == 1:
                        raise
                    click.echo(f"Rejected: {err.message}", err=True)
                    rejected.append(source)
                    continue
                advance(entries)
                failed = [r for r in results if r.code >= 400 or r.code == 0]
                ledger.mark(index - 1, State.REJECTED if failed else State.STORED)
                click.echo(f"{label}: {len(results)} entries")
                for result in results:
                    line = f"  {result.status:<4} {result.sent}"
                    # Worth showing only where the server chose the name (POST) or moved it.
                    if result.location and not result.sent.endswith(f" {result.location}"):
                        line += f" -> {result.location}"
                    click.echo(line)
                if failed:
                    # A server that does not treat the transaction as a whole: say which entries failed.
                    from fhirconv.server.errors import render_outcome

                    for result in failed:
                        message = f"  entry {result.index} ({result.sent}) failed: {result.status}"
                        click.echo(message, err=True)
                        if result.outcome is not None:
                            click.echo(render_outcome(result.outcome), err=True)
                    rejected.append(source)
                    continue
                stored += len(results)
                if verify:
                    found = verify_push(client, bundle, results)
                    for difference in found:
                        click.echo(f"  differs: {difference}")
                    click.echo(
                        f"  verified {len(results)} resources: "
                        + (f"{len(found)} difference{'s' if len(found) != 1 else ''}" if found else "as sent")
                    )
                    differences += len(found)
    except KeyboardInterrupt as stop:
        raise Interrupted(f"push interrupted; {ledger.summary()}", stop) from None
    except FhirconvError as err:
        if ledger.stored_any():
            err.message += f"\nThe push stopped there; {ledger.summary()}"
        raise

    from fhirconv.server.client import display_url

    pushed = len(sources) - len(rejected)
    split = f" in {len(transactions)} transactions" if len(transactions) != len(sources) else ""
    click.echo(
        f"Pushed {pushed} of {len(sources)} bundle{'s' if len(sources) != 1 else ''}{split} "
        f"({stored} resources) to {display_url(server)}",
        err=True,
    )
    if closed_early():
        click.echo("Standard output closed early: the push finished; its entry list is cut short", err=True)
    problems = []
    if rejected:
        problems.append(
            f"the server rejected {len(rejected)} of {len(sources)} bundles: {', '.join(rejected)}"
        )
        if ledger.stored_any():
            # Half-pushed: say exactly what the server holds now.  The entries are PUTs, so
            # pushing again once the cause is fixed completes the push without duplicates.
            problems.append(f"{ledger.summary()} (pushing again updates what is stored)")
    if differences:
        problems.append(f"--verify found {differences} difference{'s' if differences != 1 else ''}")
    if problems:
        raise FindingsError("; ".join(problems))


# -- pull -----------------------------------------------------------------------------------


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


push.epilog = PUSH_EXITS
pull.epilog = PULL_EXITS

COMMANDS: list[click.Command] = [push, pull]
