"""``fhirconv push``: load cases and bundles into a FHIR server, in transactions.

The command glues the layers: load a case or bundle, export it, validate it locally, send
it with :mod:`fhirconv.server`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fhirconv.commands.server_options import PUSH_EXITS, make_client, server_options
from fhirconv.errors import FhirconvError, FindingsError, InputError, Interrupted


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


push.epilog = PUSH_EXITS
